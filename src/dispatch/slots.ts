/**
 * The schedule questions the dispatcher and the status commands ask, in one small interface:
 * a job's latest slot at or before an instant, its next slot, the catch-up window and the grace
 * period. Cron expressions are evaluated by croner in ONTIME_TIMEZONE.
 */
import { Cron } from 'croner';

export const HOUR_MS = 3_600_000;
export const MINUTE_MS = 60_000;
const DAY_MS = 24 * HOUR_MS;

export interface JobSlots {
  /** The latest slot at or before `at`, or null when the expression never fired before it. */
  latest(at: Date): Date | null;
  /** The first slot strictly after `after`. */
  next(after: Date): Date | null;
  /** The slot before `slot` (strictly earlier). */
  previous(slot: Date): Date | null;
}

export function jobSlots(expression: string, timezone: string): JobSlots {
  const cron = new Cron(expression, { timezone, paused: true });
  return {
    latest(at) {
      // previousRuns is strictly before its reference; a slot exactly at `at` counts as "at or before".
      const exact = cron.nextRun(new Date(at.getTime() - 1));
      if (exact && exact.getTime() === at.getTime()) return exact;
      return cron.previousRuns(1, at)[0] ?? null;
    },
    next(after) {
      return cron.nextRun(after) ?? null;
    },
    previous(slot) {
      return cron.previousRuns(1, slot)[0] ?? null;
    },
  };
}

/** The slot's period: the time to the next slot (23 h or 25 h on a DST day for a daily job). */
export function periodOf(slots: JobSlots, slot: Date): number {
  const next = slots.next(slot);
  return next ? next.getTime() - slot.getTime() : DAY_MS;
}

/** How late a slot may still be started: the job's period, capped at 24 hours. */
export function catchUpWindow(slots: JobSlots, slot: Date): number {
  return Math.min(periodOf(slots, slot), DAY_MS);
}

/** How long after its slot a run may start before `check` calls it late: 10% of the period, 5 min to 1 h. */
export function gracePeriod(slots: JobSlots, slot: Date): number {
  return Math.min(Math.max(periodOf(slots, slot) * 0.1, 5 * MINUTE_MS), HOUR_MS);
}

/**
 * Slots strictly between two instants, counted up to `cap` (an hourly job missed for a year
 * has 8760; nobody needs the exact figure past the cap).
 */
export function countSlotsBetween(slots: JobSlots, afterExclusive: Date, beforeExclusive: Date, cap = 1000): number {
  let n = 0;
  let cursor = slots.next(afterExclusive);
  while (cursor && cursor.getTime() < beforeExclusive.getTime() && n < cap) {
    n += 1;
    cursor = slots.next(cursor);
  }
  return n;
}
