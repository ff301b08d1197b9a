/**
 * Five-field cron expressions, parsed and evaluated by croner, in an IANA time zone.
 *
 * Pure: no database, no clock of its own (every function takes the instant it reasons about).
 * The rest of ontime talks about schedules only through this module, so the DST rule below is
 * decided in one place (docs/scheduling.md explains it for operators).
 *
 * A *slot* is an instant at which a schedule fires. Slots are instants, not wall-clock times:
 * two slots are the same slot exactly when they are the same instant.
 *
 * DST rule (croner's, which follows Vixie cron, with `fixedTimeRule: "no-wildcard"`):
 * - Fixed-time schedules (no `*` and no step in the minute and hour fields: `30 1 * * *`,
 *   `0 8 * * 1`, `30 1,13 * * *`) are wall-clock appointments. A time that does not exist on a
 *   spring-forward day runs once, at the instant the clock jumps (01:30 in London on the last
 *   Sunday of March runs at 02:00 BST). A time that occurs twice on a fall-back day runs once,
 *   at its first occurrence.
 * - Interval schedules (`0 * * * *`, `*\/15 * * * *`) follow real time: every real hour
 *   (or quarter) has its slot. On a fall-back day the repeated hour is a second real hour and has
 *   its own slot; on a spring-forward day the skipped hour never existed, so nothing is lost and
 *   nothing runs twice.
 */
import { Cron, CronPattern } from 'croner';

/** A cron expression that ontime cannot use; the message names the expression and the fault. */
export class CronExpressionError extends Error {
  constructor(
    readonly expression: string,
    readonly problem: string,
  ) {
    super(`cron expression "${expression}" ${problem}`);
    this.name = 'CronExpressionError';
  }
}

/** A time zone name the system's time zone database does not know. */
export class TimeZoneError extends Error {
  constructor(readonly timeZone: string) {
    super(`time zone "${timeZone}" is not one this system knows (use an IANA name such as Europe/London or UTC)`);
    this.name = 'TimeZoneError';
  }
}

/**
 * The values each field matches, expanded (for the exporters, which translate schedules into
 * other platforms' languages). Day-of-week uses 0 = Sunday … 6 = Saturday (7 is folded into 0).
 */
export interface CronFields {
  minutes: number[];
  hours: number[];
  /** 1–31 */
  daysOfMonth: number[];
  /** 1–12 */
  months: number[];
  /** 0–6, Sunday = 0 */
  daysOfWeek: number[];
  /** The day-of-month field was `*`. */
  anyDayOfMonth: boolean;
  /** The day-of-week field was `*`. */
  anyDayOfWeek: boolean;
}

export interface CronSchedule {
  /** As written (whitespace normalised). */
  readonly expression: string;
  readonly fields: CronFields;
  /** Wall-clock appointment (see the DST rule above) rather than a real-time interval. */
  readonly fixedTime: boolean;
}

/** Anything that names a schedule: the expression, or one parseCron already checked. */
export type ScheduleLike = string | CronSchedule;

// Croner understands more than the five classic fields; each of these would make a schedule
// that crontab, Task Scheduler or systemd cannot run, so the registry may not use them.
const EXTENSIONS: Array<[RegExp, string]> = [
  [/L/i, '"L" (last day)'],
  [/W/i, '"W" (nearest weekday)'],
  [/#/, '"#" (nth weekday)'],
  [/\?/, '"?"'],
  [/\+/, '"+" (day-of-month AND day-of-week)'],
];
const FIELD_NAMES = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'];
const CRON_OPTIONS = { mode: '5-part', fixedTimeRule: 'no-wildcard', domAndDow: false, sloppyRanges: false } as const;

const parsed = new Map<string, CronSchedule>();

/** Parse and check a five-field cron expression; throws CronExpressionError naming the fault. */
export function parseCron(expression: string): CronSchedule {
  const normalised = expression.trim().split(/\s+/).join(' ');
  const cached = parsed.get(normalised);
  if (cached) return cached;
  if (normalised === '') throw new CronExpressionError(expression, 'is empty');
  if (normalised.startsWith('@')) {
    throw new CronExpressionError(expression, 'is a nickname; write the five fields instead (@daily is "0 0 * * *", @hourly is "0 * * * *")');
  }
  const parts = normalised.split(' ');
  if (parts.length !== 5) {
    throw new CronExpressionError(
      expression,
      `has ${parts.length} field${parts.length === 1 ? '' : 's'}; a schedule has exactly five: minute hour day-of-month month day-of-week`,
    );
  }
  parts.forEach((part, i) => {
    // Month and weekday names (JAN, MON) are letters too; only the extension letters are refused.
    const withoutNames = part.replace(/\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|sun|mon|tue|wed|thu|fri|sat)\b/gi, '');
    for (const [pattern, what] of EXTENSIONS) {
      if (pattern.test(withoutNames)) {
        throw new CronExpressionError(
          expression,
          `uses ${what} in the ${FIELD_NAMES[i]} field, which crontab, Task Scheduler and systemd do not all understand`,
        );
      }
    }
  });
  let pattern: CronPattern;
  try {
    pattern = new CronPattern(normalised, undefined, CRON_OPTIONS);
  } catch (err) {
    const reason = ((err as Error).message ?? String(err)).replace(/^CronPattern:\s*/i, '');
    throw new CronExpressionError(expression, `is not valid: ${reason}`);
  }
  const on = (values: number[], offset = 0) => values.flatMap((v, i) => (v ? [i + offset] : []));
  const daysOfWeek = [...new Set(on(pattern.dayOfWeek).map((d) => d % 7))].sort((a, b) => a - b);
  const schedule: CronSchedule = {
    expression: normalised,
    fixedTime: pattern.isFixedTime,
    fields: {
      minutes: on(pattern.minute),
      hours: on(pattern.hour),
      daysOfMonth: on(pattern.day, 1),
      months: on(pattern.month, 1),
      daysOfWeek,
      anyDayOfMonth: pattern.starDOM,
      anyDayOfWeek: pattern.starDOW,
    },
  };
  // `0 0 30 2 *` parses but never fires; better to say so now than to wait forever.
  if (!cronFor(schedule, 'UTC').nextRun(new Date(Date.UTC(2000, 0, 1)))) {
    throw new CronExpressionError(expression, 'never matches a real date');
  }
  parsed.set(normalised, schedule);
  return schedule;
}

const zones = new Map<string, boolean>();

/** Throws TimeZoneError unless the zone is known (UTC always is). */
export function assertTimeZone(timeZone: string): void {
  let ok = zones.get(timeZone);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone });
      ok = true;
    } catch {
      ok = false;
    }
    zones.set(timeZone, ok);
  }
  if (!ok) throw new TimeZoneError(timeZone);
}

const evaluators = new Map<string, Cron>();

function cronFor(schedule: CronSchedule, timeZone: string): Cron {
  const key = `${schedule.expression}\u0000${timeZone}`;
  let cron = evaluators.get(key);
  if (!cron) {
    // paused: this instance only answers questions, it never starts a timer.
    cron = new Cron(schedule.expression, { ...CRON_OPTIONS, timezone: timeZone, paused: true });
    evaluators.set(key, cron);
  }
  return cron;
}

function resolve(schedule: ScheduleLike, timeZone: string): Cron {
  const s = typeof schedule === 'string' ? parseCron(schedule) : schedule;
  assertTimeZone(timeZone);
  return cronFor(s, timeZone);
}

/** The latest slot at or before `atOrBefore` (an instant exactly on a slot is that slot); null if none. */
export function previousSlot(schedule: ScheduleLike, atOrBefore: Date, timeZone: string): Date | null {
  // croner's previousRuns excludes its reference instant; one millisecond later includes it.
  return resolve(schedule, timeZone).previousRuns(1, new Date(atOrBefore.getTime() + 1))[0] ?? null;
}

/** The first slot strictly after `after`; null if the schedule never fires again. */
export function nextSlot(schedule: ScheduleLike, after: Date, timeZone: string): Date | null {
  return resolve(schedule, timeZone).nextRun(after);
}

/**
 * Slots s with `after < s <= atOrBefore`, oldest first, at most `limit` of them (the oldest
 * ones). Callers that only need to count a possibly long gap pass a limit and check the length.
 */
export function slotsBetween(schedule: ScheduleLike, after: Date, atOrBefore: Date, timeZone: string, limit = 10_000): Date[] {
  const cron = resolve(schedule, timeZone);
  const slots: Date[] = [];
  let cursor: Date | null = after;
  while (slots.length < limit) {
    cursor = cron.nextRun(cursor);
    if (!cursor || cursor.getTime() > atOrBefore.getTime()) break;
    slots.push(cursor);
  }
  return slots;
}

/**
 * The schedule's period around an instant: the time from the latest slot at or before `at` to
 * the slot before it (23 or 25 hours for a daily schedule across a DST change). When there is
 * no earlier slot, the gap between the next two slots.
 */
export function periodAt(schedule: ScheduleLike, at: Date, timeZone: string): number {
  const latest = previousSlot(schedule, at, timeZone);
  if (latest) {
    const before = previousSlot(schedule, new Date(latest.getTime() - 1), timeZone);
    if (before) return latest.getTime() - before.getTime();
  }
  const first = nextSlot(schedule, at, timeZone);
  const second = first && nextSlot(schedule, first, timeZone);
  if (first && second) return second.getTime() - first.getTime();
  throw new CronExpressionError(typeof schedule === 'string' ? schedule : schedule.expression, 'fires too rarely to have a period');
}
