/**
 * One run at a time per job, across hosts. One interface, two kinds:
 *
 * - advisory (ONTIME_LOCK=auto on PostgreSQL and MySQL/MariaDB): pg_try_advisory_lock /
 *   GET_LOCK(name, 0), taken and released on ONE connection taken out of the pool for the whole
 *   run, so the lock is the session's and the server frees it the moment the process dies.
 * - lease (SQLite always, ONTIME_LOCK=table everywhere): a job_locks row whose times come from the
 *   database clock, renewed by a timer while the run is alive and by the first statement of every
 *   batch transaction (fencing), released only by its owner.
 *
 * Fencing costs no round trip of its own (docs/run-safety.md, "Fencing"): an advisory lock is
 * known held while its connection is alive (its loss is an event), and a lease is renewed inside
 * the batch's own transaction, which rolls back when the renewal finds the lease no longer ours.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { latestRunningRun } from '../db/job-runs.js';
import {
  advisoryHolder,
  insertLease,
  labelSession,
  lockName,
  readLease,
  releaseAdvisoryLock,
  releaseLease,
  renewLease,
  setLeaseRun,
  takeOverExpiredLease,
  tryAdvisoryLock,
} from '../db/locks.js';
import { formatUtc } from '../output.js';
import { RunInterrupted } from './signals.js';

export type LockKind = 'advisory' | 'lease';

export interface JobLock {
  readonly kind: LockKind;
  /** This run's identity as the lock shows it: `<host> pid <pid> #<nonce>`. */
  readonly holder: string;
  /** Record the run's id with the lock (lease rows carry run_id). */
  attachRun(runId: number): Promise<void>;
  /**
   * Fencing before a page whose writes do not all go through fenced transactions (mail): is the
   * lock still ours? A lease is renewed by the statement that checks it (a round trip); an
   * advisory lock answers from its connection's state (none).
   */
  confirm(): Promise<boolean>;
  /** Fencing without a round trip: false (or a throw, for a lost connection) once the lock is known lost. */
  held(): boolean;
  /**
   * Fencing inside a batch's transaction, as its first statement: a lease is renewed there, on
   * condition that it is still ours (false: roll the batch back); the row lock that renewal takes
   * keeps a takeover waiting until the batch has committed. An advisory lock: held().
   */
  fence(trx: Knex.Transaction): Promise<boolean>;
  /** Release, only if still ours. False: it was no longer ours, and was left alone. */
  release(): Promise<boolean>;
}

export interface LockHolderInfo {
  /** Human description of who holds it, for the skipped row and the message. */
  holder: string;
  runId?: number;
  expiresAt?: string;
}

export type LockAttempt =
  | { acquired: true; lock: JobLock; tookOverFrom?: LockHolderInfo }
  | { acquired: false; heldBy: LockHolderInfo };

/** Which kind a database gets: advisory where it has them, unless ONTIME_LOCK=table. */
export function lockKindFor(dialect: Dialect, mode: 'auto' | 'table'): LockKind {
  return mode === 'auto' && dialect !== 'sqlite' ? 'advisory' : 'lease';
}

/**
 * How long a lease lasts: the job's time limit plus a margin (a tenth of it, between 2 s and a
 * minute). A crashed holder blocks the job at most that long; a live one renews it.
 */
export function leaseLengthMs(timeoutMs: number): number {
  return timeoutMs + Math.min(60_000, Math.max(2_000, Math.round(timeoutMs / 10)));
}

export function holderIdentity(host: string, pid: number): string {
  return `${host} pid ${pid} #${randomBytes(3).toString('hex')}`;
}

export interface LockRequest {
  db: Knex;
  dialect: Dialect;
  mode: 'auto' | 'table';
  job: string;
  holder: string;
  /** The job's time limit; the lease lasts this plus a margin. */
  timeoutMs: number;
}

export async function acquireJobLock(req: LockRequest): Promise<LockAttempt> {
  return lockKindFor(req.dialect, req.mode) === 'advisory' ? acquireAdvisory(req) : acquireLease(req);
}

// ---------------------------------------------------------------------------------------------

async function acquireAdvisory(req: LockRequest): Promise<LockAttempt> {
  const { db, dialect, job, holder } = req;
  // A connection of our own for the whole run: the lock belongs to this session.
  const client = db.client as { acquireConnection(): Promise<unknown>; releaseConnection(conn: unknown): Promise<void> };
  const conn = await client.acquireConnection();
  let acquired = false;
  try {
    if (dialect === 'postgres') {
      const { transactionPoolerSeen, poolerError } = await import('../db/lock-connection.js');
      const seen = await transactionPoolerSeen(db, conn);
      if (seen) throw poolerError(seen);
    }
    acquired = await tryAdvisoryLock(db, dialect, conn, job);
    if (acquired) await labelSession(db, dialect, conn, `ontime ${holder}`);
  } catch (err) {
    await client.releaseConnection(conn).catch(() => undefined);
    throw err;
  }
  if (!acquired) {
    await client.releaseConnection(conn);
    return { acquired: false, heldBy: await describeAdvisoryHolder(db, dialect, job) };
  }
  let released = false;
  // The lock is the session: once its connection reports an error or its end, it is gone.
  let lostBecause: string | null = null;
  const { watchLockConnection, lockConnectionLost } = await import('../db/lock-connection.js');
  const unwatch = watchLockConnection(conn, (why) => {
    lostBecause = why;
  });
  return {
    acquired: true,
    lock: {
      kind: 'advisory',
      holder,
      async attachRun() {
        // The session is the lock; the run row names host and pid.
      },
      async confirm() {
        return this.held();
      },
      held() {
        // The lock lives as long as this connection, which is ours alone (out of the pool, never
        // re-made): the server ends the session only by telling the client (an error, then the
        // end of the stream), and those events set lostBecause. No query is needed to know it.
        lostBecause ??= lockConnectionLost(conn);
        if (lostBecause !== null) {
          throw new RunInterrupted(
            'lock-lost',
            `the database connection holding the lock of ${job} was lost (${lostBecause}); stopped before the next batch, finished batches are committed`,
            'run it again; if this repeats, look for what ends idle or long sessions (idle_session_timeout, wait_timeout, a firewall, a pooler)',
          );
        }
        return true;
      },
      async fence() {
        return this.held();
      },
      async release() {
        if (released) return true;
        released = true;
        unwatch();
        if (lostBecause !== null) {
          await client.releaseConnection(conn).catch(() => undefined);
          return true; // the server freed it with the session
        }
        try {
          await labelSession(db, dialect, conn, 'ontime');
          return await releaseAdvisoryLock(db, dialect, conn, job);
        } finally {
          await client.releaseConnection(conn).catch(() => undefined);
        }
      },
    },
  };
}

/**
 * Who holds the lock of `job` (`<job>` or `<job>#i/n`) right now: a lease not yet expired, or a
 * granted advisory lock; undefined when nobody does (a crashed holder's lease expired, or its
 * session, and with it its advisory lock, is gone).
 */
export async function currentHolder(req: Pick<LockRequest, 'db' | 'dialect' | 'mode' | 'job'>): Promise<LockHolderInfo | undefined> {
  const { db, dialect, job } = req;
  if (lockKindFor(dialect, req.mode) === 'advisory') {
    return (await advisoryHolder(db, dialect, job)) ? describeAdvisoryHolder(db, dialect, job) : undefined;
  }
  const lease = await readLease(db, dialect, lockName(job));
  return lease && !lease.expired ? leaseInfo(lease) : undefined;
}

async function describeAdvisoryHolder(db: Knex, dialect: Dialect, job: string): Promise<LockHolderInfo> {
  // `<job>#i/n` is shard i/n's lock: its run is that shard's `running` row, not the job's newest.
  const [name, shard = ''] = job.split('#');
  const [session, running] = await Promise.all([advisoryHolder(db, dialect, job).catch(() => undefined), latestRunningRun(db, name!, shard)]);
  const parts: string[] = [];
  if (session?.label?.startsWith('ontime ')) parts.push(session.label.slice('ontime '.length));
  else if (running?.host) parts.push(`${running.host} pid ${running.pid}`);
  if (running) parts.push(`run #${running.id}`);
  if (session) {
    const what = dialect === 'postgres' ? 'PostgreSQL backend pid' : 'MariaDB/MySQL connection';
    parts.push(`${what} ${session.session}${session.label && !session.label.startsWith('ontime ') ? `, ${session.label}` : ''}`);
  }
  return {
    holder: parts.length > 0 ? parts.join(', ') : 'another session (it may just have finished)',
    runId: running ? Number(running.id) : undefined,
  };
}

// ---------------------------------------------------------------------------------------------

async function acquireLease(req: LockRequest): Promise<LockAttempt> {
  const { db, dialect, job, holder } = req;
  const name = lockName(job);
  const leaseMs = leaseLengthMs(req.timeoutMs);
  let tookOverFrom: LockHolderInfo | undefined;
  if (!(await insertLease(db, dialect, name, holder, leaseMs))) {
    const before = await readLease(db, dialect, name);
    if (before && !before.expired) return { acquired: false, heldBy: leaseInfo(before) };
    if (!(await takeOverExpiredLease(db, dialect, name, holder, leaseMs))) {
      // Another run took it over (or created it) a moment ago: it is held.
      const now = await readLease(db, dialect, name);
      if (now) return { acquired: false, heldBy: leaseInfo(now) };
      // Released in between: one more try, and then it is simply somebody else's turn.
      if (!(await insertLease(db, dialect, name, holder, leaseMs))) {
        const again = await readLease(db, dialect, name);
        return { acquired: false, heldBy: again ? leaseInfo(again) : { holder: 'another run (it just took the lock)' } };
      }
    } else if (before) {
      tookOverFrom = leaseInfo(before);
    }
  }

  let runId: number | null = null;
  let released = false;
  let lost = false;
  // Renew well before expiry; the timer never keeps the process alive on its own.
  const renewEvery = Math.max(500, Math.min(60_000, Math.floor(leaseMs / 3)));
  const timer = setInterval(() => {
    renewLease(db, dialect, name, holder, leaseMs).then(
      (ok) => {
        if (!ok) lost = true;
      },
      () => undefined, // a passing database error: the checkpoint's own check decides
    );
  }, renewEvery);
  timer.unref();

  return {
    acquired: true,
    tookOverFrom,
    lock: {
      kind: 'lease',
      holder,
      async attachRun(id) {
        runId = id;
        await setLeaseRun(db, name, holder, id);
      },
      async confirm() {
        if (lost) return false;
        const ok = await renewLease(db, dialect, name, holder, leaseMs);
        if (!ok) lost = true;
        return ok;
      },
      held() {
        return !lost;
      },
      async fence(trx) {
        if (lost) return false;
        // Same statement as the timer's renewal, but in the batch's transaction: no round trip
        // and no commit of its own, and the batch commits only if the lease was still ours.
        const ok = await renewLease(trx, dialect, name, holder, leaseMs);
        if (!ok) lost = true;
        return ok;
      },
      async release() {
        clearInterval(timer);
        if (released) return true;
        released = true;
        return releaseLease(db, name, holder, runId);
      },
    },
  };
}

function leaseInfo(lease: { holder: string; runId: number | null; expiresAt: Date | null; expired: boolean }): LockHolderInfo {
  const expiry = lease.expiresAt ? `${lease.expired ? 'expired' : 'lease until'} ${formatUtc(lease.expiresAt)}` : '';
  return {
    holder: [lease.holder, lease.runId !== null ? `run #${lease.runId}` : '', expiry].filter(Boolean).join(', '),
    runId: lease.runId ?? undefined,
    expiresAt: lease.expiresAt?.toISOString(),
  };
}
