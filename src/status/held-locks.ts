/**
 * The job locks held right now, as `ontime locks` and `ontime status` show them: lease rows
 * (job_locks) with holder, since, expiry and whether they expired by the database clock; on
 * PostgreSQL and MySQL/MariaDB also the advisory locks, asked of the server job by job.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { jobs } from '../registry.js';

export interface HeldLease {
  job: string | null;
  name: string;
  holder: string;
  runId: number | null;
  since: string | null;
  expiresAt: string | null;
  expired: boolean;
}

export interface HeldAdvisoryLock {
  job: string;
  session: number;
  label: string | null;
  runId: number | null;
  since: string | null;
}

export interface HeldLocks {
  advisory: HeldAdvisoryLock[];
  leases: HeldLease[];
}

export async function heldLocks(db: Knex, dialect: Dialect): Promise<HeldLocks> {
  const { listLeases, advisoryHolder, lockName } = await import('../db/locks.js');
  const { latestRunningRun } = await import('../db/job-runs.js');
  const { fromDbInstant } = await import('../db/time.js');
  const byName = new Map(jobs.map((j) => [lockName(j.name), j.name]));
  const leases = (await listLeases(db, dialect)).map((l) => ({
    job: byName.get(l.name) ?? null,
    name: l.name,
    holder: l.holder,
    runId: l.runId,
    since: l.acquiredAt?.toISOString() ?? null,
    expiresAt: l.expiresAt?.toISOString() ?? null,
    expired: l.expired,
  }));
  const advisory: HeldAdvisoryLock[] = [];
  // Advisory locks are asked of the server whenever it has them: a host running with a
  // different ONTIME_LOCK would otherwise hide its locks from this list.
  if (dialect !== 'sqlite') {
    for (const job of jobs) {
      const holder = await advisoryHolder(db, dialect, job.name);
      if (!holder) continue;
      const running = await latestRunningRun(db, job.name);
      advisory.push({
        job: job.name,
        session: holder.session,
        label: holder.label,
        runId: running ? Number(running.id) : null,
        since: fromDbInstant(running?.started_at)?.toISOString() ?? null,
      });
    }
  }
  return { advisory, leases };
}
