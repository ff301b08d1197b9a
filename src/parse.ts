/**
 * Parsers for option values. Each throws UsageError (exit 64) naming the option and the value,
 * so cli.ts can hand them to commander unchanged.
 */
import { UsageError } from './errors.js';

/**
 * Upper bounds of the numeric options: far above any real use, low enough that no value reaches
 * a database limit (32-bit integer columns, SQLite's 32766 and PostgreSQL's 65535 bound
 * parameters per statement, with a batch's ids bound in one statement) or a timer's (2^31 ms).
 */
export const LIMITS = {
  batchSize: 10_000,
  /** --batch-time: long enough to measure, short enough to stay a short transaction. */
  batchTimeMinMs: 10,
  batchTimeMaxMs: 60_000,
  limit: 100_000_000,
  days: 36_500,
  /** Status codes are stored in 32-bit integer columns on every database. */
  int32: 2_147_483_647,
  ids: 10_000,
  timeoutMs: 7 * 86_400_000,
  /** --shard i/n: n at most this (a Kubernetes Indexed Job's completions are far fewer in practice). */
  shards: 1_000,
} as const;

const wholeNumber = (text: string, signed: boolean): number | undefined => {
  const t = text.trim();
  if (!(signed ? /^-?\d+$/ : /^\d+$/).test(t)) return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : undefined;
};

export function positiveInteger(option: string, max: number) {
  return (value: string): number => {
    const n = wholeNumber(value, false);
    if (n === undefined || n < 1 || n > max) {
      throw new UsageError(`${option} must be a whole number from 1 to ${max}, not "${value}"`);
    }
    return n;
  };
}

/** --batch-size: `auto` (sized by time) or a fixed number of items per batch. */
export function batchSize(option: string) {
  const fixed = positiveInteger(option, LIMITS.batchSize);
  return (value: string): number | 'auto' => {
    if (value.trim().toLowerCase() === 'auto') return 'auto';
    try {
      return fixed(value);
    } catch {
      throw new UsageError(`${option} must be auto or a whole number from 1 to ${LIMITS.batchSize}, not "${value}"`);
    }
  };
}

export function integer(option: string, min: number, max: number) {
  return (value: string): number => {
    const n = wholeNumber(value, true);
    if (n === undefined || n < min || n > max) {
      throw new UsageError(`${option} must be a whole number from ${min} to ${max}, not "${value}"`);
    }
    return n;
  };
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `90s`, `15m`, `2h`, `1h30m`, `200ms`, or a bare number of seconds → milliseconds, from `minMs`
 * (one second unless given) to `maxMs`.
 */
export function parseDuration(option: string, maxMs: number, minMs = 1000) {
  const bounded = (ms: number, value: string) => {
    if (!Number.isSafeInteger(ms) || ms > maxMs) {
      const days = maxMs >= 86_400_000 ? ` (${maxMs / 86_400_000}d)` : '';
      throw new UsageError(`${option} must be at most ${maxMs / 1000}s${days}, not "${value}"`);
    }
    return ms;
  };
  return (value: string): number => {
    const text = value.trim().toLowerCase();
    if (/^\d+$/.test(text)) {
      const seconds = Number(text);
      if (seconds * 1000 >= minMs) return bounded(seconds * 1000, value);
    }
    const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d)/g)];
    const consumed = parts.map((p) => p[0]).join('');
    if (parts.length === 0 || consumed !== text) {
      throw new UsageError(`${option} must be a duration such as 90s, 15m or 2h, not "${value}"`);
    }
    const ms = parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]!]!, 0);
    if (ms < minMs) {
      const least = minMs === 1000 ? 'one second' : `${minMs}ms`;
      throw new UsageError(`${option} must be at least ${least}, not "${value}"`);
    }
    return bounded(ms, value);
  };
}

/** An ISO-8601 instant. A value without a zone is read as UTC, since every job works in UTC. */
export function parseInstant(option: string) {
  return (value: string): Date => {
    const text = value.trim();
    const hasZone = /(z|[+-]\d{2}:?\d{2})$/i.test(text);
    const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text);
    const iso = dateOnly ? `${text}T00:00:00Z` : hasZone ? text : `${text.replace(' ', 'T')}Z`;
    const d = new Date(iso);
    if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(d.getTime()) || !isCalendarDate(text)) {
      throw new UsageError(`${option} must be an ISO-8601 instant such as 2026-11-23T02:00:00Z, not "${value}"`);
    }
    return d;
  };
}

/**
 * Date's parser rolls 2026-02-31 over to March 3rd and accepts hour 24: the fields as written must
 * be a real calendar date and time of day.
 */
function isCalendarDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(text);
  if (!m) return false;
  const [year, month, day, hour = 0, minute = 0, second = 0] = m.slice(1).map((v) => (v === undefined ? undefined : Number(v))) as number[];
  const probe = new Date(Date.UTC(year!, month! - 1, day!));
  return (
    year! >= 1970 && year! <= 9999 &&
    probe.getUTCFullYear() === year && probe.getUTCMonth() === month! - 1 && probe.getUTCDate() === day &&
    hour! <= 23 && minute! <= 59 && second! <= 59
  );
}

export function idList(option: string) {
  return (value: string): number[] => {
    const ids = value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => {
        const id = wholeNumber(s, false);
        if (id === undefined || id < 1) {
          throw new UsageError(`${option} must be a comma-separated list of ids from 1 to ${Number.MAX_SAFE_INTEGER}, not "${s}"`);
        }
        return id;
      });
    if (ids.length === 0) throw new UsageError(`${option} names no ids`);
    if (ids.length > LIMITS.ids) throw new UsageError(`${option} names ${ids.length} ids; at most ${LIMITS.ids} at a time`);
    return ids;
  };
}

/**
 * Case ids as written in --ids: a number written plainly is checked as idList checks it; any other
 * token is kept as the text it is (profiles with string keys, such as SurgiCase's case_id, name
 * cases that way; a leading zero is part of such a key). Which kind the profile takes is checked
 * by the job once the profile is known (caseKeys in jobs/shared/case-status-move.ts).
 */
export function caseIdList(option: string) {
  const number = idList(option);
  return (value: string): Array<number | string> => {
    const ids = value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s): number | string => {
        if (/^[1-9][0-9]*$/.test(s)) return number(s)[0]!;
        // Printable and short enough for an index: the key is bound as a value, never as SQL.
        if (s.length > 191 || /[\u0000-\u001f\u007f]/.test(s)) throw new UsageError(`${option}: ${JSON.stringify(s.slice(0, 40))} is not a case id (printable, at most 191 characters)`);
        return s;
      });
    if (ids.length === 0) throw new UsageError(`${option} names no ids`);
    if (ids.length > LIMITS.ids) throw new UsageError(`${option} names ${ids.length} ids; at most ${LIMITS.ids} at a time`);
    return ids;
  };
}

/** A calendar day, `YYYY-MM-DD`, that exists. */
export function calendarDay(option: string) {
  return (value: string): string => {
    const text = value.trim();
    const d = new Date(`${text}T00:00:00Z`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== text) {
      throw new UsageError(`${option} must be a day as YYYY-MM-DD, not "${value}"`);
    }
    return text;
  };
}

/** One shard of a job's rows: those with `id % count = index` (--shard index/count). */
export interface Shard {
  index: number;
  count: number;
}

/** `i/n` as written on the command line, stored in job_runs.shard and added to the lock name. */
export function shardLabel(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}

/** --shard `i/n`: 0 ≤ i < n ≤ LIMITS.shards. (`0/1` is the whole table: the runner treats it as no shard.) */
export function parseShard(option: string) {
  return (value: string): Shard => {
    const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
    const index = m ? wholeNumber(m[1]!, false) : undefined;
    const count = m ? wholeNumber(m[2]!, false) : undefined;
    if (index === undefined || count === undefined || count < 1 || count > LIMITS.shards || index >= count) {
      throw new UsageError(`${option} must be i/n with n from 1 to ${LIMITS.shards} and i from 0 to n-1 (e.g. 0/3), not "${value}"`);
    }
    return { index, count };
  };
}
