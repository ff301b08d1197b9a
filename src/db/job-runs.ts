/** job_runs: one row per real run, its status from `running` to how it ended. */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { toDbInstant } from './time.js';
import { isUniqueViolation } from './unique.js';
import { ownTables } from './schema.js';

export type JobRunStatus = 'running' | 'succeeded' | 'partial' | 'failed' | 'skipped' | 'interrupted' | 'abandoned';
export type JobTrigger = 'cli' | 'run-due';

export interface NewJobRun {
  job: string;
  /** `i/n` of a sharded run (job_runs.shard); absent or '' for an unsharded one. */
  shard?: string;
  trigger: JobTrigger;
  scheduledFor: Date | null;
  startedAt: Date;
  status: JobRunStatus;
  host: string;
  pid: number;
  summary?: Record<string, unknown>;
  /** For rows written already finished (skipped). */
  finishedAt?: Date;
  exitCode?: number;
}

export interface JobRunRow {
  id: number;
  job: string;
  trigger: string;
  scheduled_for: unknown;
  started_at: unknown;
  finished_at: unknown;
  status: JobRunStatus;
  exit_code: number | null;
  host: string | null;
  pid: number | null;
  summary: string | null;
  error: string | null;
  /** `i/n` of a run of one shard, '' otherwise (absent before migration 0002). */
  shard?: string;
}

/** The unique (job, scheduled_for) key said no: another run already owns this schedule slot. */
export class SlotTakenError extends Error {
  constructor(readonly job: string, readonly scheduledFor: Date) {
    super(`schedule slot ${scheduledFor.toISOString()} of ${job} already has a run`);
  }
}

/** Insert a run row; a run with scheduled_for claims its slot (SlotTakenError when taken). */
export async function insertJobRun(db: Knex, dialect: Dialect, run: NewJobRun): Promise<number> {
  try {
    const [row] = await db(ownTables(db).jobRuns)
      .insert({
        job: run.job,
        ...(run.shard ? { shard: run.shard } : {}),
        trigger: run.trigger,
        scheduled_for: run.scheduledFor ? toDbInstant(dialect, run.scheduledFor) : null,
        started_at: toDbInstant(dialect, run.startedAt),
        finished_at: run.finishedAt ? toDbInstant(dialect, run.finishedAt) : null,
        status: run.status,
        exit_code: run.exitCode ?? null,
        host: run.host.slice(0, 255),
        pid: run.pid,
        summary: JSON.stringify(run.summary ?? {}),
      })
      .returning('id');
    return typeof row === 'object' ? Number((row as { id: number }).id) : Number(row);
  } catch (err) {
    if (run.scheduledFor && isUniqueViolation(err)) throw new SlotTakenError(run.job, run.scheduledFor);
    throw err;
  }
}

export interface RunEnding {
  status: JobRunStatus;
  exitCode: number;
  summary: Record<string, unknown>;
  error: string | null;
  finishedAt: Date;
}

/** Record how a run ended. By id only: a row marked `abandoned` by a newer run is corrected by its own run. */
export async function finishJobRun(db: Knex, dialect: Dialect, id: number, end: RunEnding): Promise<void> {
  await db(ownTables(db).jobRuns)
    .where({ id })
    .update({
      status: end.status,
      exit_code: end.exitCode,
      summary: JSON.stringify(end.summary),
      error: end.error,
      finished_at: toDbInstant(dialect, end.finishedAt),
    });
}

/**
 * Rows of this job still `running`: their runs died (the caller holds the job's lock, so no live
 * run of the job can own them). Marked `abandoned`; returns their ids.
 */
export async function abandonRunningRuns(
  db: Knex,
  dialect: Dialect,
  job: string,
  byWhom: string,
  now: Date,
  exceptRunId: number | null = null,
  /** Only this shard's runs ('' = unsharded): the other shards' runs are alive under locks of their own. */
  shard = '',
): Promise<number[]> {
  const q = db(ownTables(db).jobRuns).where({ job, shard, status: 'running' }).select('id');
  if (exceptRunId !== null) q.whereNot('id', exceptRunId);
  const rows: Array<{ id: number }> = await q;
  if (rows.length === 0) return [];
  const ids = rows.map((r) => Number(r.id));
  await db(ownTables(db).jobRuns)
    .whereIn('id', ids)
    .andWhere({ status: 'running' })
    .update({
      status: 'abandoned',
      finished_at: toDbInstant(dialect, now),
      error: `the run stopped without recording how it ended (process killed, host lost, or lock lost); found by ${byWhom}`,
    });
  return ids;
}

/** The newest `running` row of a job (of one shard, when `shard` is given: '' = unsharded): who is (or claims to be) running it. */
export async function latestRunningRun(db: Knex, job: string, shard?: string): Promise<JobRunRow | undefined> {
  return db(ownTables(db).jobRuns).where({ job, status: 'running', ...(shard === undefined ? {} : { shard }) }).orderBy('id', 'desc').first();
}

/** The shards (`i/n`) of a job that have a `running` row: the shard locks that may be held right now. */
export async function runningShards(db: Knex, job: string): Promise<string[]> {
  const rows: Array<{ shard: string }> = await db(ownTables(db).jobRuns).where({ job, status: 'running' }).whereNot({ shard: '' }).distinct('shard');
  return rows.map((r) => String(r.shard));
}

export async function recentRuns(db: Knex, options: { job?: string; status?: string; limit: number }): Promise<JobRunRow[]> {
  const q = db(ownTables(db).jobRuns).select('*').orderBy('id', 'desc').limit(options.limit);
  if (options.job) q.where({ job: options.job });
  if (options.status) q.where({ status: options.status });
  return q;
}
