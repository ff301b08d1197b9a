/**
 * Every difference between the drivers and dialects that a query needs to know, in one place:
 * SQL fragments, the shape of raw answers, affected-row counts, booleans, the database clock.
 * Column names passed in are trusted identifiers. (Driver names themselves: db/connect.ts.)
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';

/** `date + n days` for a date column and an integer column, as a date each dialect compares with 'YYYY-MM-DD'. */
export function addDaysSql(dialect: Dialect, dateColumn: string, daysColumn: string): string {
  switch (dialect) {
    case 'postgres':
      return `(${dateColumn} + ${daysColumn})`;
    case 'mysql':
      return `DATE_ADD(${dateColumn}, INTERVAL ${daysColumn} DAY)`;
    case 'sqlite':
      return `date(${dateColumn}, '+' || ${daysColumn} || ' days')`;
  }
}

/**
 * The rows of a knex.raw() answer, whatever the driver: pg gives `{ rows }`, mysql2
 * `[rows, fields]`, better-sqlite3 the rows themselves.
 */
export function rawRows<T = Record<string, unknown>>(result: unknown): T[] {
  if (Array.isArray(result)) return (Array.isArray(result[0]) ? result[0] : result) as T[];
  return ((result as { rows?: T[] } | null)?.rows ?? []) as T[];
}

/** Rows a raw INSERT/UPDATE/DELETE changed: pg's rowCount, mysql2's affectedRows, better-sqlite3's changes. */
export function affectedRows(dialect: Dialect, result: unknown): number {
  const r = result as { rowCount?: number; affectedRows?: number; changes?: number } | [{ affectedRows?: number }] | null;
  if (dialect === 'postgres') return Number((r as { rowCount?: number } | null)?.rowCount ?? 0);
  if (dialect === 'mysql') return Number((Array.isArray(r) ? r[0] : (r as { affectedRows?: number } | null))?.affectedRows ?? 0);
  return Number((r as { changes?: number } | null)?.changes ?? 0);
}

/** A boolean read from SQL: true/false (pg), 1/0 (MySQL, SQLite), '1' or 't' from some drivers. */
export function toBool(v: unknown): boolean {
  return v === true || v === 1 || v === '1' || v === 't';
}

/**
 * The database server's own clock, or null on SQLite (it has none: the host's clock is used).
 * Read by `ontime doctor` to compare with this host's.
 */
export async function databaseNow(db: Knex, dialect: Dialect): Promise<unknown | null> {
  if (dialect === 'sqlite') return null;
  const sql = dialect === 'postgres' ? 'select now() as now' : 'select utc_timestamp(6) as now';
  return rawRows<{ now: unknown }>(await db.raw(sql))[0]?.now ?? null;
}

/** What an advisory lock is called on this database, for `ontime locks`. */
export function advisoryLockFunction(dialect: Dialect): string {
  return dialect === 'postgres' ? 'pg_try_advisory_lock' : 'GET_LOCK';
}

/** A database session as the operator finds it in the server's own tools. */
export function describeSession(dialect: Dialect, session: number | string): string {
  return dialect === 'postgres' ? `backend pid ${session}` : `connection ${session}`;
}

/** The statement that ends a database session (and so frees its advisory locks). */
export function endSessionSql(dialect: Dialect, session: number | string): string {
  return dialect === 'postgres' ? `SELECT pg_terminate_backend(${session});` : `KILL ${session};`;
}

/**
 * The error of a statement on a table that does not exist, from any of the three drivers
 * (PostgreSQL 42P01, MariaDB/MySQL 1146, SQLite "no such table"). Lets a caller ask for rows and
 * learn of a missing table from the same round trip, instead of asking the catalog first.
 */
export function isMissingTable(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown; message?: unknown } | null;
  return e?.code === '42P01' || e?.code === 'ER_NO_SUCH_TABLE' || e?.errno === 1146 || /\bno such table\b/i.test(String(e?.message ?? ''));
}
