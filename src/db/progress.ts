/** Queries over survey_progress. */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { whereReadable } from './readable.js';
import { rawRows } from './dialect.js';
import { toDbInstant } from './time.js';
import { identFor, mapped, schemaOf } from './schema.js';
import type { ProgressKindName } from '../profiles/types.js';
import { whereShard } from './shard.js';
import type { Shard } from '../parse.js';

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

const DEFAULT_KIND_ORDER: readonly ProgressKindName[] = ['user', 'session', 'token'];

/**
 * A row may carry more than one identity; the first of the profile's order it has names it
 * (ontime: user, session, token; CheckTick: user, token, session).
 */
export function progressKind(row: Pick<ProgressRow, 'user_id' | 'session_key' | 'access_token'>, order: readonly ProgressKindName[] = DEFAULT_KIND_ORDER): ProgressKind {
  for (const kind of order) {
    if (kind === 'user' && row.user_id !== null && row.user_id !== undefined) return 'authenticated';
    if (kind === 'session' && row.session_key) return 'anonymous';
    if (kind === 'token' && row.access_token !== null && row.access_token !== undefined && row.access_token !== '') return 'token';
  }
  return 'unknown';
}

/**
 * Restrict a query to expired progress: `expires_at < now`, or no expiry and `updated_at <
 * staleBefore`; under the profile rule `expired-or-stale` (CheckTick), `updated_at < staleBefore`
 * whatever expires_at says, a safety net for rows whose expiry was set far ahead.
 */
export function expiredProgress(q: Knex.QueryBuilder, dialect: Dialect, now: Date, staleBefore: Date): Knex.QueryBuilder {
  const anyExpiry = schemaOf(q).profile.rules.progressExpiry === 'expired-or-stale';
  return whereReadable(q, dialect, [['expires_at', 'instant'], ['updated_at', 'instant']]).where((w) =>
    w
      .where('expires_at', '<', toDbInstant(dialect, now))
      .orWhere((n) => (anyExpiry ? n : n.whereNull('expires_at')).andWhere('updated_at', '<', toDbInstant(dialect, staleBefore))),
  );
}

/** The ontime profile's progress columns; progressColumns() reads the access token's from the profile. */
export const PROGRESS_COLUMNS = ['id', 'survey_id', 'user_id', 'session_key', 'access_token', 'updated_at', 'expires_at'] as const;
/**
 * What counting a deleted row by kind needs (progressKind). Returning only these from a batch
 * DELETE halves its time on PostgreSQL (the driver parses no timestamps): the full columns are
 * asked for only when --verbose lists each row (docs/performance.md).
 */
export const PROGRESS_KIND_COLUMNS = ['id', 'user_id', 'session_key', 'access_token'] as const;

/** The columns of a ProgressRow on this connection: the access token's column read as access_token. */
export function progressColumns(db: Knex | Knex.Transaction): Array<string | Record<string, string>> {
  const token = mapped(db, 'progress').accessToken;
  return PROGRESS_COLUMNS.map((c) => (c === 'access_token' ? { access_token: token } : c));
}

/** A RETURNING list of ProgressRow columns, quoted; the profile's access-token column read as access_token. */
function returningList(trx: Knex.Transaction, columns: readonly string[]): string {
  const q = identFor(trx);
  const token = mapped(trx, 'progress').accessToken;
  return columns.map((c) => (c === 'access_token' ? `${q(token)} AS access_token` : q(c))).join(', ');
}

/** The profile's progress table. */
export function progressTable(db: Knex | Knex.Transaction): string {
  return mapped(db, 'progress').table;
}

/** One keyset page of expired progress: what a batch would delete (the dry run lists these). */
export function selectExpiredProgress(
  db: Knex | Knex.Transaction,
  dialect: Dialect,
  now: Date,
  staleBefore: Date,
  afterId: number,
  size: number,
  shard?: Shard,
): Promise<ProgressRow[]> {
  return expiredProgress(db(progressTable(db)), dialect, now, staleBefore)
    .select(progressColumns(db))
    .modify(whereShard, shard)
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
  shard?: Shard,
): Promise<ProgressRow[]> {
  const del = expiredProgress(trx(progressTable(trx)), dialect, now, staleBefore).where('id', '>', afterId).orderBy('id').limit(size).modify(whereShard, shard).del();
  // RETURNING appended by hand: knex passes it through for PostgreSQL only, not MariaDB.
  const { sql, bindings } = del.toSQL();
  const result: unknown = await trx.raw(`${sql} RETURNING ${returningList(trx, columns)}`, bindings as readonly Knex.Value[]);
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
  shard?: Shard,
): Promise<ProgressRow[]> {
  const table = progressTable(trx);
  const picked = expiredProgress(trx(table), dialect, now, staleBefore).select('id').modify(whereShard, shard).where('id', '>', afterId).orderBy('id').limit(size);
  const upper = trx.from(picked.as('picked')).max('id');
  const del = expiredProgress(trx(table), dialect, now, staleBefore).modify(whereShard, shard).where('id', '>', afterId).where('id', '<=', upper).del();
  // RETURNING appended by hand: knex drops a DELETE's returning list on better-sqlite3.
  const { sql, bindings } = del.toSQL();
  const rows = rawRows<ProgressRow>(await trx.raw(`${sql} RETURNING ${returningList(trx, columns)}`, bindings as readonly Knex.Value[]));
  for (const r of rows) r.id = Number(r.id);
  return rows.sort((a, b) => a.id - b.id);
}

/** What one counted batch deleted: per kind, and the first and last id (for its audit row). */
export interface CountedProgressBatch {
  count: number;
  firstId: number;
  lastId: number;
  kinds: Record<ProgressKind, number>;
}

/**
 * PostgreSQL: deleteExpiredProgressRange's DELETE, counted by kind in the database. The deleted
 * rows stay on the server (a CTE over the DELETE … RETURNING groups them); one row per kind comes
 * back. Sending 10,000 rows to node took longer than deleting them (docs/performance.md).
 * The kind is the first of the profile's order the row has, as progressKind() decides it.
 */
export async function deleteExpiredProgressCounted(
  trx: Knex.Transaction,
  dialect: Dialect,
  now: Date,
  staleBefore: Date,
  afterId: number,
  size: number,
  kindOrder: readonly ProgressKindName[],
  shard?: Shard,
): Promise<CountedProgressBatch> {
  const table = progressTable(trx);
  const q = identFor(trx);
  const token = q(mapped(trx, 'progress').accessToken);
  const has: Record<ProgressKindName, [string, ProgressKind]> = {
    user: [`${q('user_id')} IS NOT NULL`, 'authenticated'],
    session: [`${q('session_key')} <> ''`, 'anonymous'],
    token: [`${token} <> ''`, 'token'],
  };
  const kind = `CASE ${kindOrder.map((k) => `WHEN ${has[k][0]} THEN '${has[k][1]}'`).join(' ')} ELSE 'unknown' END`;
  const picked = expiredProgress(trx(table), dialect, now, staleBefore).select('id').modify(whereShard, shard).where('id', '>', afterId).orderBy('id').limit(size);
  const upper = trx.from(picked.as('picked')).max('id');
  const del = expiredProgress(trx(table), dialect, now, staleBefore).modify(whereShard, shard).where('id', '>', afterId).where('id', '<=', upper).del();
  const { sql, bindings } = del.toSQL();
  const rows = rawRows<{ kind: ProgressKind; n: unknown; first_id: unknown; last_id: unknown }>(
    await trx.raw(
      `WITH deleted AS (${sql} RETURNING ${q('id')} AS id, ${kind} AS kind)
       SELECT kind, count(*) AS n, min(id) AS first_id, max(id) AS last_id FROM deleted GROUP BY kind`,
      bindings as readonly Knex.Value[],
    ),
  );
  const batch: CountedProgressBatch = { count: 0, firstId: 0, lastId: 0, kinds: { authenticated: 0, anonymous: 0, token: 0, unknown: 0 } };
  for (const r of rows) {
    const n = Number(r.n);
    const first = Number(r.first_id);
    const last = Number(r.last_id);
    batch.kinds[r.kind] += n;
    batch.firstId = batch.count === 0 ? first : Math.min(batch.firstId, first);
    batch.lastId = Math.max(batch.lastId, last);
    batch.count += n;
  }
  return batch;
}
