/** Queries over survey_progress. */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { whereReadable } from './readable.js';
import { rawRows } from './dialect.js';
import { toDbInstant } from './time.js';

export interface ProgressRow {
  id: number;
  survey_id: number;
  user_id: number | null;
  session_key: string | null;
  access_token: string | null;
  updated_at: unknown;
  expires_at: unknown;
}

export type ProgressKind = 'authenticated' | 'anonymous' | 'token' | 'unknown';

/** A row may carry more than one identity; the strongest one names it. */
export function progressKind(row: Pick<ProgressRow, 'user_id' | 'session_key' | 'access_token'>): ProgressKind {
  if (row.user_id !== null && row.user_id !== undefined) return 'authenticated';
  if (row.session_key) return 'anonymous';
  if (row.access_token) return 'token';
  return 'unknown';
}

/** Restrict a query to expired progress: `expires_at < now`, or no expiry and `updated_at < staleBefore`. */
export function expiredProgress(q: Knex.QueryBuilder, dialect: Dialect, now: Date, staleBefore: Date): Knex.QueryBuilder {
  return whereReadable(q, dialect, [['expires_at', 'instant'], ['updated_at', 'instant']]).where((w) =>
    w
      .where('expires_at', '<', toDbInstant(dialect, now))
      .orWhere((n) => n.whereNull('expires_at').andWhere('updated_at', '<', toDbInstant(dialect, staleBefore))),
  );
}

export const PROGRESS_COLUMNS = ['id', 'survey_id', 'user_id', 'session_key', 'access_token', 'updated_at', 'expires_at'] as const;
/**
 * What counting a deleted row by kind needs (progressKind). Returning only these from a batch
 * DELETE halves its time on PostgreSQL (the driver parses no timestamps): the full columns are
 * asked for only when --verbose lists each row (docs/performance.md).
 */
export const PROGRESS_KIND_COLUMNS = ['id', 'user_id', 'session_key', 'access_token'] as const;

/** One keyset page of expired progress: what a batch would delete (the dry run lists these). */
export function selectExpiredProgress(
  db: Knex | Knex.Transaction,
  dialect: Dialect,
  now: Date,
  staleBefore: Date,
  afterId: number,
  size: number,
): Promise<ProgressRow[]> {
  return expiredProgress(db('survey_progress'), dialect, now, staleBefore)
    .select(PROGRESS_COLUMNS)
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(size);
}

/**
 * Whether this server can pick and delete a batch in one statement that returns the deleted
 * rows: PostgreSQL and SQLite (3.35+, bundled by better-sqlite3) always; on the mysql dialect only
 * MariaDB (single-table `DELETE … RETURNING` since 10.0), not MySQL proper.
 */
export async function canDeleteReturning(db: Knex, dialect: Dialect): Promise<boolean> {
  // PostgreSQL and SQLite use deleteExpiredProgressRange (a primary-key range) instead.
  if (dialect !== 'mysql') return false;
  const [rows] = (await db.raw('SELECT VERSION() AS v')) as [Array<{ v: string }>];
  return /mariadb/i.test(String(rows[0]?.v ?? ''));
}

/**
 * Delete the next batch of expired progress — at most `size` rows with id > afterId, in id order
 * — in one statement, returning exactly the rows deleted (in id order). The expiry predicate is
 * part of the DELETE itself, so a draft the respondent touched meanwhile is not deleted and not
 * counted: on PostgreSQL the predicate is re-checked on the row's latest version after waiting
 * for its lock, on MariaDB a DELETE reads the latest committed version, and SQLite has one writer.
 *
 * MariaDB's single-table `DELETE … WHERE <expired> AND id > ? ORDER BY id LIMIT n RETURNING …`.
 * Only call this where canDeleteReturning() said yes. The rows carry `columns` only.
 */
export async function deleteExpiredProgressBatch(
  trx: Knex.Transaction,
  dialect: Dialect,
  now: Date,
  staleBefore: Date,
  afterId: number,
  size: number,
  columns: readonly string[] = PROGRESS_COLUMNS,
): Promise<ProgressRow[]> {
  const del = expiredProgress(trx('survey_progress'), dialect, now, staleBefore).where('id', '>', afterId).orderBy('id').limit(size).del();
  // RETURNING appended by hand: knex passes it through for PostgreSQL only, not MariaDB.
  const { sql, bindings } = del.toSQL();
  const result: unknown = await trx.raw(`${sql} RETURNING ${columns.join(', ')}`, bindings as readonly Knex.Value[]);
  const rows = rawRows<ProgressRow>(result);
  // RETURNING promises no order; the audit row names the first and last id.
  for (const r of rows) r.id = Number(r.id);
  return rows.sort((a, b) => a.id - b.id);
}


/**
 * PostgreSQL and SQLite: delete the next batch of expired progress in one statement, returning
 * the rows deleted (in id order). The batch is a primary-key range: its upper end is the id of the
 * `size`-th expired row after `afterId`, found by a scalar subquery over the primary key (an
 * InitPlan on PostgreSQL), so the DELETE itself is an index range scan `id > a AND id <= b`.
 * `DELETE … WHERE id IN (SELECT … LIMIT n)` is not used: PostgreSQL plans it as a hash semi-join
 * over a scan of every expired row, for every batch (docs/performance.md).
 *
 * The expiry predicate is part of the DELETE, so a draft touched meanwhile stays: PostgreSQL
 * re-checks it on the row's latest version, SQLite has one writer. Both parts read one snapshot,
 * so the range holds at most `size` expired rows and --limit stays exact. The rows carry
 * `columns` only.
 */
export async function deleteExpiredProgressRange(
  trx: Knex.Transaction,
  dialect: Dialect,
  now: Date,
  staleBefore: Date,
  afterId: number,
  size: number,
  columns: readonly string[] = PROGRESS_COLUMNS,
): Promise<ProgressRow[]> {
  const picked = expiredProgress(trx('survey_progress'), dialect, now, staleBefore).select('id').where('id', '>', afterId).orderBy('id').limit(size);
  const upper = trx.from(picked.as('picked')).max('id');
  const del = expiredProgress(trx('survey_progress'), dialect, now, staleBefore).where('id', '>', afterId).where('id', '<=', upper).del();
  // RETURNING appended by hand: knex drops a DELETE's returning list on better-sqlite3.
  const { sql, bindings } = del.toSQL();
  const rows = rawRows<ProgressRow>(await trx.raw(`${sql} RETURNING ${columns.join(', ')}`, bindings as readonly Knex.Value[]));
  for (const r of rows) r.id = Number(r.id);
  return rows.sort((a, b) => a.id - b.id);
}
