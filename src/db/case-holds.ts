/**
 * The case hold rule of docs/reference/jobs.md, in SQL: a case is on hold on day D when hold_start_date <= D and D
 * is before the hold's end — hold_end_date (exclusive) if set, else hold_start_date +
 * hold_duration_days if set, else never (open-ended). Every branch is guarded by IS [NOT] NULL, so
 * the predicate is never NULL and its negation is exact.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { addDaysSql } from './dialect.js';
import { MAX_HOLD_DAYS } from './readable.js';

/**
 * `? < start + duration`, with the arithmetic inside a CASE so the database never computes it for a
 * duration beyond ±MAX_HOLD_DAYS (PostgreSQL's date + 2147483647 is an error, MariaDB's and
 * SQLite's NULL). Such a duration counts as a hold that has not ended: the case is never released
 * or emailed by a value nobody can read (it is listed as unreadable).
 */
function heldUntilSql(dialect: Dialect, start: string, days: string): string {
  const inRange = `${days} > -${MAX_HOLD_DAYS} AND ${days} < ${MAX_HOLD_DAYS}`;
  return `(CASE WHEN ${inRange} THEN (CASE WHEN ? < ${addDaysSql(dialect, start, days)} THEN 1 ELSE 0 END) ELSE 1 END) = 1`;
}

function onHoldSql(dialect: Dialect, table: string): string {
  const c = (name: string) => `${table ? `${table}.` : ''}${name}`;
  return `(${c('hold_start_date')} IS NOT NULL AND ${c('hold_start_date')} <= ? AND (
      (${c('hold_end_date')} IS NOT NULL AND ? < ${c('hold_end_date')})
   OR (${c('hold_end_date')} IS NULL AND ${c('hold_duration_days')} IS NOT NULL AND ${heldUntilSql(dialect, c('hold_start_date'), c('hold_duration_days'))})
   OR (${c('hold_end_date')} IS NULL AND ${c('hold_duration_days')} IS NULL)))`;
}

/** Restrict to cases on hold on `day` (YYYY-MM-DD). */
export function whereOnHold(q: Knex.QueryBuilder, dialect: Dialect, day: string, table = ''): Knex.QueryBuilder {
  return q.whereRaw(onHoldSql(dialect, table), [day, day, day]);
}

/** Restrict to cases not on hold on `day` (YYYY-MM-DD). */
export function whereNotOnHold(q: Knex.QueryBuilder, dialect: Dialect, day: string, table = ''): Knex.QueryBuilder {
  return q.whereRaw(`NOT ${onHoldSql(dialect, table)}`, [day, day, day]);
}

/** The same rule in JavaScript, for --verbose explanations. Days are YYYY-MM-DD strings. */
export function holdEnd(start: string, end: string | null, durationDays: number | null): string | null {
  if (end) return end;
  if (durationDays !== null && durationDays !== undefined && Math.abs(durationDays) < MAX_HOLD_DAYS) {
    const d = new Date(`${start}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + durationDays);
    return d.toISOString().slice(0, 10);
  }
  return null;
}
