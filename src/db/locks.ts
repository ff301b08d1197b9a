/**
 * The SQL of job locks: lease rows in job_locks (every database), and the advisory locks of
 * PostgreSQL and MySQL/MariaDB. Lease times come from the DATABASE clock, in the same storage
 * form toDbInstant writes, so hosts with skewed clocks agree and SQLite's text comparison stays
 * chronological.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { fromDbInstant } from './time.js';
import { rawRows } from './dialect.js';
import { isUniqueViolation } from './unique.js';
import { identFor, ownTables } from './schema.js';

/** GET_LOCK names are limited to 64 characters; job_locks.name to 191. */
const MAX_LOCK_NAME = 64;

/** `ontime:<job>`, or a truncated name with a hash when that would be longer than 64 characters. */
export function lockName(job: string): string {
  const full = `ontime:${job}`;
  if (full.length <= MAX_LOCK_NAME) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 16);
  return `${full.slice(0, MAX_LOCK_NAME - hash.length - 1)}:${hash}`;
}

/**
 * MySQL/MariaDB GET_LOCK names are server-wide, not per database: two ontime deployments whose
 * databases share one server must not block each other's jobs, so the database is in the name.
 * (PostgreSQL advisory locks are per database already.)
 */
export function serverLockName(db: Knex, job: string): string {
  const connection = db.client.config.connection as { database?: string } | undefined;
  return lockName(`${connection?.database ?? ''}:${job}`);
}

/** PostgreSQL's advisory key for a job: the first 8 bytes of sha256(`ontime:<job>`). */
export function advisoryKey(job: string): { key: string; classid: number; objid: number } {
  const digest = createHash('sha256').update(`ontime:${job}`).digest();
  // pg_locks shows a bigint key as two oids: the high and the low 32 bits.
  return { key: digest.readBigInt64BE(0).toString(), classid: digest.readUInt32BE(0), objid: digest.readUInt32BE(4) };
}

/**
 * The database's current instant plus `offsetMs`, as SQL in the column's storage form.
 * offsetMs is our own integer, never user text, so it is written into the SQL directly.
 */
export function dbNowSql(dialect: Dialect, offsetMs = 0): string {
  const ms = Math.trunc(offsetMs);
  if (!Number.isSafeInteger(ms)) throw new RangeError('lease offset must be an integer number of milliseconds');
  switch (dialect) {
    case 'postgres':
      return ms === 0 ? 'now()' : `(now() + interval '1 millisecond' * ${ms})`;
    case 'mysql':
      return ms === 0 ? 'UTC_TIMESTAMP(6)' : `DATE_ADD(UTC_TIMESTAMP(6), INTERVAL ${ms * 1000} MICROSECOND)`;
    case 'sqlite': {
      // toDbInstant's form: `YYYY-MM-DD HH:MM:SS`, or `.mmm000` when there are milliseconds.
      const t = `strftime('%Y-%m-%d %H:%M:%f', 'now', '${ms >= 0 ? '+' : ''}${(ms / 1000).toFixed(3)} seconds')`;
      return `(CASE WHEN substr(${t}, 21, 3) = '000' THEN substr(${t}, 1, 19) ELSE ${t} || '000' END)`;
    }
  }
}

export interface LeaseRow {
  name: string;
  holder: string;
  runId: number | null;
  acquiredAt: Date | null;
  expiresAt: Date | null;
  /** Judged by the database clock. */
  expired: boolean;
}

function toLease(r: Record<string, unknown>): LeaseRow {
  return {
    name: String(r.name),
    holder: String(r.holder),
    runId: r.run_id === null || r.run_id === undefined ? null : Number(r.run_id),
    acquiredAt: fromDbInstant(r.acquired_at),
    expiresAt: fromDbInstant(r.expires_at),
    expired: r.expired === true || Number(r.expired) === 1,
  };
}

/** Create the lease row. False when a row for the name exists (held, or expired and not yet taken over). */
export async function insertLease(db: Knex, dialect: Dialect, name: string, holder: string, leaseMs: number): Promise<boolean> {
  try {
    await db.raw(
      `INSERT INTO ${identFor(db)(ownTables(db).jobLocks)} (name, holder, run_id, acquired_at, expires_at) VALUES (?, ?, NULL, ${dbNowSql(dialect)}, ${dbNowSql(dialect, leaseMs)})`,
      [name, holder],
    );
    return true;
  } catch (err) {
    if (isUniqueViolation(err)) return false;
    throw err;
  }
}

/** Take over a lease whose expiry has passed, in one conditional UPDATE: of two contenders one wins. */
export async function takeOverExpiredLease(db: Knex, dialect: Dialect, name: string, holder: string, leaseMs: number): Promise<boolean> {
  const changed = await db(ownTables(db).jobLocks)
    .where({ name })
    .andWhereRaw(`expires_at < ${dbNowSql(dialect)}`)
    .update({
      holder,
      run_id: null,
      acquired_at: db.raw(dbNowSql(dialect)),
      expires_at: db.raw(dbNowSql(dialect, leaseMs)),
    });
  return Number(changed) === 1;
}

/** Extend our own lease. False when it is no longer ours (taken over, or released by an operator). */
export async function renewLease(db: Knex, dialect: Dialect, name: string, holder: string, leaseMs: number): Promise<boolean> {
  const changed = await db(ownTables(db).jobLocks).where({ name, holder }).update({ expires_at: db.raw(dbNowSql(dialect, leaseMs)) });
  return Number(changed) === 1;
}

export async function setLeaseRun(db: Knex, name: string, holder: string, runId: number): Promise<void> {
  await db(ownTables(db).jobLocks).where({ name, holder }).update({ run_id: runId });
}

/** Delete the lease only when it is still ours: an unlock can never free somebody else's lease. */
export async function releaseLease(db: Knex, name: string, holder: string, runId: number | null): Promise<boolean> {
  const q = db(ownTables(db).jobLocks).where({ name, holder });
  if (runId !== null) q.andWhere((w) => w.where({ run_id: runId }).orWhereNull('run_id'));
  return Number(await q.del()) === 1;
}

export async function readLease(db: Knex, dialect: Dialect, name: string): Promise<LeaseRow | undefined> {
  const rows = rawRows<Record<string, unknown>>(
    await db.raw(
      `SELECT name, holder, run_id, acquired_at, expires_at, CASE WHEN expires_at < ${dbNowSql(dialect)} THEN 1 ELSE 0 END AS expired FROM ${identFor(db)(ownTables(db).jobLocks)} WHERE name = ?`,
      [name],
    ),
  );
  return rows[0] ? toLease(rows[0]) : undefined;
}

export async function listLeases(db: Knex, dialect: Dialect): Promise<LeaseRow[]> {
  const rows = rawRows<Record<string, unknown>>(
    await db.raw(
      `SELECT name, holder, run_id, acquired_at, expires_at, CASE WHEN expires_at < ${dbNowSql(dialect)} THEN 1 ELSE 0 END AS expired FROM ${identFor(db)(ownTables(db).jobLocks)} ORDER BY name`,
    ),
  );
  return rows.map(toLease);
}

/** `ontime locks --release`: the operator's decision, regardless of holder. */
export async function deleteLease(db: Knex, name: string): Promise<number> {
  return Number(await db(ownTables(db).jobLocks).where({ name }).del());
}

// ---------------------------------------------------------------------------------------------
// Advisory locks. Every call here runs on the one dedicated connection of the run (`conn`), the
// session that owns the lock; a pooled connection would take the lock in one session and release
// it (or fail to) in another.

type Conn = unknown;

function on(db: Knex, conn: Conn | undefined, sql: string, bindings: readonly unknown[] = []) {
  const q = db.raw(sql, bindings as Knex.RawBinding[]);
  return conn === undefined ? q : q.connection(conn);
}

export async function tryAdvisoryLock(db: Knex, dialect: Dialect, conn: Conn, job: string): Promise<boolean> {
  if (dialect === 'postgres') {
    const rows = rawRows<{ ok: boolean }>(await on(db, conn, 'SELECT pg_try_advisory_lock(?::bigint) AS ok', [advisoryKey(job).key]));
    return rows[0]?.ok === true;
  }
  const rows = rawRows<{ ok: number | null }>(await on(db, conn, 'SELECT GET_LOCK(?, 0) AS ok', [serverLockName(db, job)]));
  return Number(rows[0]?.ok) === 1;
}

export async function releaseAdvisoryLock(db: Knex, dialect: Dialect, conn: Conn, job: string): Promise<boolean> {
  if (dialect === 'postgres') {
    const rows = rawRows<{ ok: boolean }>(await on(db, conn, 'SELECT pg_advisory_unlock(?::bigint) AS ok', [advisoryKey(job).key]));
    return rows[0]?.ok === true;
  }
  const rows = rawRows<{ ok: number | null }>(await on(db, conn, 'SELECT RELEASE_LOCK(?) AS ok', [serverLockName(db, job)]));
  return Number(rows[0]?.ok) === 1;
}

/** Fencing for advisory locks: does this session still hold it? (False if the connection was lost and re-made.) */
export async function advisoryLockIsMine(db: Knex, dialect: Dialect, conn: Conn, job: string): Promise<boolean> {
  if (dialect === 'postgres') {
    const { classid, objid } = advisoryKey(job);
    const rows = rawRows<{ n: number | string }>(
      await on(
        db,
        conn,
        `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND classid::bigint = ? AND objid::bigint = ? AND objsubid = 1 AND granted`,
        [classid, objid],
      ),
    );
    return Number(rows[0]?.n) > 0;
  }
  const rows = rawRows<{ mine: number | null }>(await on(db, conn, 'SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS mine', [serverLockName(db, job)]));
  return Number(rows[0]?.mine) === 1;
}

/** Name this session after the run, so the holder shows in pg_stat_activity (PostgreSQL only). */
export async function labelSession(db: Knex, dialect: Dialect, conn: Conn, label: string): Promise<void> {
  if (dialect === 'postgres') await on(db, conn, "SELECT set_config('application_name', ?, false)", [label.slice(0, 63)]);
}

export interface AdvisoryHolder {
  /** Server-side session: PostgreSQL backend pid or MySQL connection id. */
  session: number;
  /** application_name (PostgreSQL) or client host:port (MySQL), when the server tells. */
  label: string | null;
}

/** Who holds a job's advisory lock right now, or undefined when nobody does. */
export async function advisoryHolder(db: Knex, dialect: Dialect, job: string): Promise<AdvisoryHolder | undefined> {
  if (dialect === 'postgres') {
    const { classid, objid } = advisoryKey(job);
    const rows = rawRows<{ pid: number; application_name: string | null; client_addr: string | null }>(
      await db.raw(
        `SELECT l.pid, a.application_name, a.client_addr::text AS client_addr
           FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.classid::bigint = ? AND l.objid::bigint = ? AND l.objsubid = 1 AND l.granted
            AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        [classid, objid],
      ),
    );
    const r = rows[0];
    if (!r) return undefined;
    const label = r.application_name || (r.client_addr ? `client ${r.client_addr}` : null);
    return { session: Number(r.pid), label };
  }
  const rows = rawRows<{ conn: number | null }>(await db.raw('SELECT IS_USED_LOCK(?) AS conn', [serverLockName(db, job)]));
  const conn = rows[0]?.conn;
  if (conn === null || conn === undefined) return undefined;
  let label: string | null = null;
  try {
    const p = rawRows<{ HOST: string | null }>(await db.raw('SELECT HOST FROM information_schema.PROCESSLIST WHERE ID = ?', [conn]));
    label = p[0]?.HOST ? `client ${p[0].HOST}` : null;
  } catch {
    // PROCESSLIST needs the PROCESS privilege to see other users' sessions; the id alone will do.
  }
  return { session: Number(conn), label };
}
