/**
 * Values a job can read as what they mean. PostgreSQL and MariaDB type their columns; SQLite
 * stores whatever the application wrote, and compares text as text: an epoch integer in
 * deleted_at is "before" every date, '1/1/2099' is before '2026-…', '…08:12:57-05:00' is read five
 * hours early. A job acts only on rows whose values are in the canonical form (schema.md); the
 * others are left unchanged and listed as `unreadable`. Hold durations so large that date
 * arithmetic overflows (PostgreSQL) or leaves the calendar (MariaDB, SQLite: NULL) are unreadable
 * on every database.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { tableFor } from './schema.js';

export type ValueKind = 'instant' | 'day' | 'days';

export interface ReadColumn {
  table: string;
  column: string;
  kind: ValueKind;
}

/** About 2700 years: any real hold is far shorter, and start + this stays inside year 9999. */
export const MAX_HOLD_DAYS = 1_000_000;

const D4 = '[0-9][0-9][0-9][0-9]';
const D2 = '[0-9][0-9]';

/** SQL true when `col` is NULL or readable as its kind. `col` is a trusted identifier. */
export function readableSql(dialect: Dialect, col: string, kind: ValueKind): string {
  if (kind === 'days') {
    const range = `${col} > -${MAX_HOLD_DAYS} AND ${col} < ${MAX_HOLD_DAYS}`;
    return dialect === 'sqlite' ? `(${col} IS NULL OR (typeof(${col}) = 'integer' AND ${range}))` : `(${col} IS NULL OR (${range}))`;
  }
  if (dialect !== 'sqlite') return '1 = 1';
  if (kind === 'day') {
    return `(${col} IS NULL OR (typeof(${col}) = 'text' AND ${col} GLOB '${D4}-${D2}-${D2}' AND date(${col}) IS ${col}))`;
  }
  // YYYY-MM-DD HH:MM:SS, optionally .digits; a real date and time (strftime normalises 02-30 away,
  // and gives NULL for hour 25: IS is the comparison that is false, not NULL, then).
  const head = `substr(${col}, 1, 19)`;
  return `(${col} IS NULL OR (typeof(${col}) = 'text' AND ${col} GLOB '${D4}-${D2}-${D2} ${D2}:${D2}:${D2}*'
    AND strftime('%Y-%m-%d %H:%M:%S', ${head}) IS ${head}
    AND (length(${col}) = 19 OR (length(${col}) > 20 AND substr(${col}, 20, 1) = '.' AND substr(${col}, 21) NOT GLOB '*[^0-9]*'))))`;
}

/**
 * SQL true when a legal hold's `removed_at` (a trusted column reference) says it was removed: set
 * and readable. A removal nobody can read (SQLite: an epoch number, another spelling) leaves the
 * hold active, so it still protects its survey.
 */
export function holdRemovedSql(dialect: Dialect, removedAt: string): string {
  const readable = readableSql(dialect, removedAt, 'instant');
  return readable === '1 = 1' ? `${removedAt} IS NOT NULL` : `(${removedAt} IS NOT NULL AND ${readable})`;
}

/**
 * What a case rule reads: its due date and the hold columns. A case with any of them unreadable
 * is neither released nor emailed (a misread hold could release it early); it is listed instead.
 */
export function caseReads(dueDateColumn: string): Array<[string, ValueKind]> {
  return [
    [dueDateColumn, 'day'],
    ['hold_start_date', 'day'],
    ['hold_end_date', 'day'],
    ['hold_duration_days', 'days'],
  ];
}

/** Restrict a query to rows whose `columns` are all readable. */
export function whereReadable(q: Knex.QueryBuilder, dialect: Dialect, columns: Array<[string, ValueKind]>): Knex.QueryBuilder {
  for (const [col, kind] of columns) {
    const sql = readableSql(dialect, col, kind);
    if (sql !== '1 = 1') q = q.whereRaw(sql);
  }
  return q;
}

export interface UnreadableRow {
  table: string;
  column: string;
  id: number;
}

/** Rows the job's comparisons skip, for its summary: at most `limit` listed, all counted. */
export async function findUnreadable(
  db: Knex,
  dialect: Dialect,
  reads: readonly ReadColumn[],
  limit = 100,
): Promise<{ count: number; rows: UnreadableRow[] }> {
  const rows: UnreadableRow[] = [];
  let count = 0;
  for (const r of reads) {
    const sql = readableSql(dialect, r.column, r.kind);
    const table = tableFor(db, r.table);
    if (sql === '1 = 1' || !table) continue;
    const bad = () => db(table).whereRaw(`NOT ${sql}`);
    const [{ n }] = await bad().count<{ n: number }[]>({ n: '*' });
    if (Number(n) === 0) continue;
    count += Number(n);
    const ids: Array<{ id: unknown }> = await bad().select('id').orderBy('id').limit(Math.max(0, limit - rows.length));
    for (const { id } of ids) rows.push({ table, column: r.column, id: Number(id) });
  }
  return { count, rows };
}
