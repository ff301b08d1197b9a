/**
 * What is due for one job at one instant: pure arithmetic over its schedule and the slots its
 * ledger (job_runs.scheduled_for) already holds, which the caller reads and passes in.
 *
 * The rule (docs/reference/cli.md `run-due`, docs/scheduling.md):
 * - the candidate is the latest slot at or before now;
 * - it is due when no run is recorded for it and it is no older than the catch-up window
 *   (default: the schedule's period, capped at 24 hours);
 * - older slots that never ran coalesce: they are reported as missed and never replayed, so a
 *   host that was down for three days runs a job once when it comes back, not three times.
 */
import { nextSlot, parseCron, periodAt, previousSlot, slotsBetween, type CronSchedule, type ScheduleLike } from './cron.js';

export const HOUR_MS = 3_600_000;
/** The longest default catch-up window: a weekly job missed by two days waits for next week. */
export const MAX_CATCH_UP_MS = 24 * HOUR_MS;
/** Missed slots are counted up to this many; beyond it the count is a lower bound. */
export const MISSED_COUNT_LIMIT = 1000;

export interface DueInput {
  /** The job's cron expression (or a parsed schedule). */
  schedule: ScheduleLike;
  /** IANA zone the expression is read in (ONTIME_TIMEZONE). */
  timeZone: string;
  now: Date;
  /**
   * `scheduled_for` of the job's recorded dispatcher runs, whatever their status (a failed or
   * skipped run still used its slot). Any order; only the latest at or before now matter, so the
   * caller may pass just the few most recent.
   */
  recordedSlots: readonly Date[];
  /** Override of the catch-up window in milliseconds. */
  catchUpWindowMs?: number;
}

export interface MissedSlots {
  /** How many slots will never run (at most MISSED_COUNT_LIMIT; see `countIsLowerBound`). */
  count: number;
  countIsLowerBound: boolean;
  earliest: Date;
  latest: Date;
}

/**
 * - `due`: run `slot` now.
 * - `already-run`: `slot` is recorded; nothing to do until `next`.
 * - `missed`: `slot` was never run and is older than the catch-up window; it will not run.
 * - `no-slot`: the schedule has not fired yet at or before now.
 */
export type DueState = 'due' | 'already-run' | 'missed' | 'no-slot';

export interface DueDecision {
  state: DueState;
  /** The latest slot at or before now, null only for `no-slot`. */
  slot: Date | null;
  /** The first slot after now. */
  next: Date | null;
  /** now − slot, when there is a slot. */
  lateByMs: number | null;
  /** The catch-up window that was applied. */
  windowMs: number;
  /** The latest recorded slot at or before now, if any. */
  lastRecorded: Date | null;
  /**
   * Slots after the latest recorded one that will never run: those before `slot` when it is
   * due, and `slot` too when it is `missed`. Null when nothing was missed, and when nothing is
   * recorded at all (then only `slot` itself is known to be missed, if its state says so).
   */
  missed: MissedSlots | null;
}

/** Default catch-up window: the schedule's period at `at`, capped at 24 hours. */
export function defaultCatchUpWindow(schedule: ScheduleLike, at: Date, timeZone: string): number {
  return Math.min(periodAt(schedule, at, timeZone), MAX_CATCH_UP_MS);
}

export function evaluateDue(input: DueInput): DueDecision {
  const schedule: CronSchedule = typeof input.schedule === 'string' ? parseCron(input.schedule) : input.schedule;
  const { timeZone, now } = input;
  const slot = previousSlot(schedule, now, timeZone);
  const next = nextSlot(schedule, now, timeZone);
  const windowMs = input.catchUpWindowMs ?? defaultCatchUpWindow(schedule, now, timeZone);
  const lastRecorded = latestAtOrBefore(input.recordedSlots, now);
  const base = { slot, next, windowMs, lastRecorded };

  if (!slot) return { ...base, state: 'no-slot', lateByMs: null, missed: null };
  const lateByMs = now.getTime() - slot.getTime();
  if (lastRecorded && lastRecorded.getTime() >= slot.getTime()) {
    return { ...base, state: 'already-run', lateByMs, missed: null };
  }
  if (lateByMs <= windowMs) {
    // Due. Anything between the last recorded run and this slot is coalesced into this run.
    const skipped = lastRecorded ? missedBetween(schedule, lastRecorded, new Date(slot.getTime() - 1), timeZone) : null;
    return { ...base, state: 'due', lateByMs, missed: skipped };
  }
  const missed = lastRecorded
    ? missedBetween(schedule, lastRecorded, slot, timeZone)
    : { count: 1, countIsLowerBound: false, earliest: slot, latest: slot };
  return { ...base, state: 'missed', lateByMs, missed };
}

function latestAtOrBefore(slots: readonly Date[], now: Date): Date | null {
  let latest: Date | null = null;
  for (const s of slots) {
    if (s.getTime() <= now.getTime() && (!latest || s.getTime() > latest.getTime())) latest = s;
  }
  return latest;
}

/** Slots in (after, atOrBefore], summarised; null when there are none. */
function missedBetween(schedule: CronSchedule, after: Date, atOrBefore: Date, timeZone: string): MissedSlots | null {
  const slots = slotsBetween(schedule, after, atOrBefore, timeZone, MISSED_COUNT_LIMIT + 1);
  if (slots.length === 0) return null;
  const lowerBound = slots.length > MISSED_COUNT_LIMIT;
  const latest = lowerBound ? previousSlot(schedule, atOrBefore, timeZone)! : slots[slots.length - 1]!;
  return { count: Math.min(slots.length, MISSED_COUNT_LIMIT), countIsLowerBound: lowerBound, earliest: slots[0]!, latest };
}
