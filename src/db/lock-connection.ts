/**
 * The one connection that holds a run's advisory lock. The lock lives exactly as long as that
 * database session, so:
 * - TCP keepalive keeps an idle connection from being cut silently by a NAT or firewall during a
 *   long batch, and tells a dead peer apart from a quiet one;
 * - its loss (an error or end event: the server was restarted, the session was terminated, the
 *   network went away) is reported the moment the driver sees it, so the run stops then instead
 *   of carrying on without its lock;
 * - a transaction pooler in front of PostgreSQL (PgBouncer in transaction mode) hands every
 *   transaction a different server session, so the lock would be taken in one and checked or
 *   released in another: it is detected before the lock is taken.
 */
import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Knex } from 'knex';
import { ConfigError } from '../errors.js';
import { rawRows } from './dialect.js';

/** Idle time before the first keepalive probe on the lock connection. */
export const LOCK_KEEPALIVE_MS = 30_000;

type DriverConnection = EventEmitter & { stream?: Socket; connection?: { stream?: Socket } };

/**
 * Turn on TCP keepalive on a driver connection (pg Client: `connection.stream`; mysql2:
 * `stream`) and call `onLost` once when the connection reports an error or its end. Returns the
 * function that stops watching (call it before closing the connection on purpose).
 */
export function watchLockConnection(conn: unknown, onLost: (why: string) => void): () => void {
  const c = conn as DriverConnection;
  const socket = c.connection?.stream ?? c.stream;
  socket?.setKeepAlive?.(true, LOCK_KEEPALIVE_MS);
  let reported = false;
  const report = (why: string) => {
    if (reported) return;
    reported = true;
    onLost(why);
  };
  const onError = (err: Error) => report(err?.message ?? String(err));
  const onEnd = () => report('the server closed the connection');
  c.on?.('error', onError);
  c.on?.('end', onEnd);
  return () => {
    c.off?.('error', onError);
    c.off?.('end', onEnd);
  };
}

/**
 * Whether the lock connection is already known gone without waiting for its events: its socket
 * destroyed or no longer writable (the driver may not have emitted `end` yet in this tick).
 * Returns why, or null while it is alive.
 */
export function lockConnectionLost(conn: unknown): string | null {
  const c = conn as DriverConnection;
  const socket = c.connection?.stream ?? c.stream;
  if (socket && (socket.destroyed || !socket.writable)) return 'the connection is closed';
  return null;
}

async function backendPid(query: Knex.Raw): Promise<number> {
  return Number(rawRows<{ pid: number | string }>(await query)[0]?.pid);
}

/**
 * PostgreSQL only. Directly connected, a session has one backend for its whole life and two
 * sessions never share one. Behind a transaction pooler the backend belongs to a transaction:
 * once the lock connection's statement ends, its backend goes back to the pool, and a
 * transaction opened on another client connection is usually handed that very backend (PgBouncer
 * reuses the most recently freed one), while the lock connection then gets another. Either sign
 * is proof; their absence is not (a pooler that deals backends round-robin may escape one try).
 * Returns a description of what was seen, or null.
 */
export async function transactionPoolerSeen(db: Knex, conn: unknown): Promise<string | null> {
  const onLock = () => backendPid(db.raw('SELECT pg_backend_pid() AS pid').connection(conn));
  const first = await onLock();
  const { other, again } = await db.transaction(async (trx) => {
    const o = await backendPid(trx.raw('SELECT pg_backend_pid() AS pid'));
    // Asked while the other transaction holds its backend.
    return { other: o, again: await onLock() };
  });
  if (other === first) return `another connection's transaction ran on the lock connection's server session (backend pid ${first})`;
  if (again !== first) return `the lock connection moved from server session ${first} to ${again} between two statements`;
  return null;
}

/** The error a run (78) and doctor report when advisory locks would go through a transaction pooler. */
export function poolerError(seen: string): ConfigError {
  return new ConfigError(
    `PostgreSQL is reached through a transaction pooler (${seen}): an advisory lock would be taken in one server session and checked or released in another, so runs would stop or skip wrongly`,
    'set ONTIME_LOCK=table on every host (lease rows work through any pooler), or connect ontime to PostgreSQL directly or through a session-mode pool',
  );
}
