/** Queries over survey_progress. */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { whereReadable } from './readable.js';
import { rawRows } from './dialect.js';
import { toDbInstant } from './time.js';
import { identFor, mapped, schemaOf } from './schema.js';
import type { ProgressKindName } from '../profiles/types.js';

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

/** The columns of a ProgressRow on this connection: the access token's column read as access_token. */
export function progressColumns(db: Knex | Knex.Transaction): Array<string | Record<string, string>> {
  const token = mapped(db, 'progress').accessToken;
  return PROGRESS_COLUMNS.map((c) => (c === 'access_token' ? { access_token: token } : c));
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
): Promise<ProgressRow[]> {
  return expiredProgress(db(progressTable(db)), dialect, now, staleBefore)
    .select(progressColumns(db))
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
  // Measured (docs/performance.md): on PostgreSQL and SQLite the one-statement form
  // `DELETE … WHERE id IN (SELECT … ORDER BY id LIMIT n)` was no faster than select + delete and
  // held its transaction longer, so only MariaDB's `DELETE … ORDER BY id LIMIT n RETURNING` is used.
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
 * Only call this where canDeleteReturning() said yes.
 */
export async function deleteExpiredProgressBatch(
  trx: Knex.Transaction,
  dialect: Dialect,
  now: Date,
  staleBefore: Date,
  afterId: number,
  size: number,
): Promise<ProgressRow[]> {
  const del = expiredProgress(trx(progressTable(trx)), dialect, now, staleBefore).where('id', '>', afterId).orderBy('id').limit(size).del();
  // RETURNING appended by hand: knex passes it through for PostgreSQL only, not MariaDB.
  const { sql, bindings } = del.toSQL();
  const q = identFor(trx);
  const returning = PROGRESS_COLUMNS.map((c) => (c === 'access_token' ? `${q(mapped(trx, 'progress').accessToken)} AS access_token` : q(c))).join(', ');
  const result: unknown = await trx.raw(`${sql} RETURNING ${returning}`, bindings as readonly Knex.Value[]);
  const rows = rawRows<ProgressRow>(result);
  // RETURNING promises no order; the audit row names the first and last id.
  for (const r of rows) r.id = Number(r.id);
  return rows.sort((a, b) => a.id - b.id);
}

