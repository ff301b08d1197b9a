/**
 * `ontime locks [--json]`: the job locks held right now. Lease rows (job_locks) with holder,
 * since, expiry and whether they have expired; on PostgreSQL and MySQL/MariaDB with
 * ONTIME_LOCK=auto also the advisory locks, asked of the server job by job.
 * `ontime locks --release <job> --yes`: delete the lease row a dead host left behind
 * (`<job>#i/n`: a shard's).
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { advisoryLockFunction, describeSession, endSessionSql } from '../db/dialect.js';
import { UsageError } from '../errors.js';
import { formatUtc, type Output } from '../output.js';
import { parseShard, shardLabel } from '../parse.js';
import { resolveJob } from '../registry.js';
import type { AdminContext } from '../runner/admin.js';

interface LocksOptions {
  args: string[];
  release?: string;
  yes?: boolean;
  json?: boolean;
  verbose?: boolean;
}

export function validate(options: LocksOptions): void {
  if (options.yes && options.release === undefined) throw new UsageError('--yes confirms --release <job>; nothing to confirm');
  const releaseJob = releaseTarget(options.release);
  if (releaseJob && !options.yes) {
    throw new UsageError(
      `releasing the lock of ${releaseJob} lets another run start while its holder may still be working`,
      'check with `ontime locks` that the holder is gone, then add --yes',
    );
  }
}

/** The lock --release names: `<job>`, or `<job>#i/n` for one shard's. */
function releaseTarget(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const [job, shard] = value.split('#');
  const name = resolveJob(job!).name;
  return shard === undefined ? name : `${name}#${shardLabel(parseShard('--release <job>#i/n')(shard))}`;
}

export default async function locks({ session, db }: AdminContext, options: LocksOptions): Promise<number> {
  const releaseJob = releaseTarget(options.release);
  const dialect = session.config.database.dialect;
  const { lockKindFor } = await import('../runner/locks.js');
  const kind = lockKindFor(dialect, session.config.lockMode);
  if (releaseJob) return release(db, dialect, kind, releaseJob, session.out, options.json === true);
  return list(db, dialect, kind, session.config.lockMode, session.out, options.json === true);
}

async function list(db: Knex, dialect: Dialect, kind: 'advisory' | 'lease', mode: string, out: Output, json: boolean): Promise<number> {
  const { heldLocks } = await import('../status/held-locks.js');
  const { advisory, leases } = await heldLocks(db, dialect);
  if (json) {
    out.emitJson({ mode, kind, advisory, leases });
    return 0;
  }
  const style = out.style;
  out.line(
    kind === 'advisory'
      ? `Lock mode: advisory locks (${advisoryLockFunction(dialect)}), ONTIME_LOCK=${mode}; freed by the database when the holder's connection ends`
      : `Lock mode: lease rows in job_locks (ONTIME_LOCK=${mode}${dialect === 'sqlite' ? ', SQLite' : ''}); times from the database clock`,
  );
  if (advisory.length === 0 && leases.length === 0) {
    out.line('No job locks are held.');
    return 0;
  }
  if (advisory.length > 0) {
    out.line('');
    out.line(style.bold('Advisory locks held:'));
    for (const a of advisory) {
      const who = a.label?.startsWith('ontime ') ? a.label.slice(7) : (a.label ?? 'unknown client');
      const session = describeSession(dialect, a.session);
      out.line(
        `  ${a.job}: ${who} (${session})${a.runId !== null ? `, run #${a.runId}` : ''}${a.since ? `, since ${formatUtc(new Date(a.since))}` : ''}, no expiry`,
      );
    }
  }
  if (leases.length > 0) {
    out.line('');
    out.line(style.bold('Leases (job_locks):'));
    for (const l of leases) {
      const state = l.expired ? style.red('EXPIRED (a new run will take it over)') : style.green('valid');
      out.line(
        `  ${l.job ?? l.name}: ${l.holder}${l.runId !== null ? `, run #${l.runId}` : ''}, since ${l.since ? formatUtc(new Date(l.since)) : '?'}, expires ${l.expiresAt ? formatUtc(new Date(l.expiresAt)) : '?'} · ${state}`,
      );
    }
    if (leases.some((l) => !l.expired)) {
      out.line(style.dim('A valid lease whose holder is gone (host died): `ontime locks --release <job> --yes` frees it now instead of at its expiry.'));
    }
  }
  return 0;
}

async function release(db: Knex, dialect: Dialect, kind: 'advisory' | 'lease', job: string, out: Output, json: boolean): Promise<number> {
  const { deleteLease, readLease, lockName, advisoryHolder } = await import('../db/locks.js');
  const name = lockName(job);
  const lease = await readLease(db, dialect, name);
  const deleted = await deleteLease(db, name);
  const advisory = dialect !== 'sqlite' ? await advisoryHolder(db, dialect, job) : undefined;
  if (json) {
    out.emitJson({ job, released: deleted > 0, holder: lease?.holder ?? null, advisoryHeld: advisory !== undefined });
  }
  if (deleted > 0 && lease) {
    out.line(`Released the lease of ${job} held by ${lease.holder}${lease.runId !== null ? ` (run #${lease.runId})` : ''}. The next run takes the lock and marks that run abandoned.`);
  } else {
    out.line(`${job} has no lease in job_locks; nothing released.`);
  }
  if (advisory) {
    const how = endSessionSql(dialect, advisory.session);
    out.line(
      `${job} is locked by an advisory lock of a live database session (${advisory.label ?? `session ${advisory.session}`}). ` +
        `It is freed when that session ends; if its process is truly gone, end the session with: ${how}`,
    );
  } else if (kind === 'advisory' && deleted === 0) {
    out.line(`No advisory lock is held for ${job} either.`);
  }
  return 0;
}
