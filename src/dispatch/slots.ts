/**
 * The schedule questions the dispatcher and the status commands ask, on top of the schedule core
 * (src/schedule: croner in ONTIME_TIMEZONE, with its DST rule): a job's latest slot at or before
 * an instant, its next slot, the catch-up window and the grace period of `check`.
 */
import { nextSlot, periodAt, previousSlot } from '../schedule/cron.js';
import { defaultCatchUpWindow } from '../schedule/due.js';

export const HOUR_MS = 3_600_000;
export const MINUTE_MS = 60_000;

export interface JobSlots {
  readonly expression: string;
  readonly timezone: string;
  /** The latest slot at or before `at`, or null when the expression never fired before it. */
  latest(at: Date): Date | null;
  /** The first slot strictly after `after`. */
  next(after: Date): Date | null;
}

export function jobSlots(expression: string, timezone: string): JobSlots {
  return {
    expression,
    timezone,
    latest: (at) => previousSlot(expression, at, timezone),
    next: (after) => nextSlot(expression, after, timezone),
  };
}

/** How late a slot may still be started (run-due's rule): the job's period, capped at 24 hours. */
export function catchUpWindow(slots: JobSlots, slot: Date): number {
  return defaultCatchUpWindow(slots.expression, slot, slots.timezone);
}

/**
 * How long after its slot a run may start before `check` calls it late: 10% of the period,
 * at least 5 minutes (cron starts run-due once a minute; a busy host needs slack), at most 1 hour.
 * Hourly jobs: 6 min; daily and weekly jobs: 1 h.
 */
export function gracePeriod(slots: JobSlots, slot: Date): number {
  return Math.min(Math.max(periodAt(slots.expression, slot, slots.timezone) * 0.1, 5 * MINUTE_MS), HOUR_MS);
}
