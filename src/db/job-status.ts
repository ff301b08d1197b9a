/**
 * Read-only questions about job_runs that the dispatcher and the status commands (jobs, why,
 * check) ask: has this slot a run, what served it, what was the job's last run, since when is
 * ontime installed. Rows come back normalised (instants as Dates, summary parsed).
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { fromDbInstant, toDbInstant } from './time.js';
import { ownTables } from './schema.js';

export type RunStatus = 'running' | 'succeeded' | 'partial' | 'failed' | 'skipped' | 'interrupted' | 'abandoned';

export interface JobRun {
  id: number;
  job: string;
  trigger: string;
  scheduledFor: Date | null;
  startedAt: Date;
  finishedAt: Date | null;
  status: RunStatus | string;
  exitCode: number | null;
  host: string | null;
  pid: number | null;
  summary: Record<string, unknown> | null;
  error: string | null;
}

const COLUMNS = ['id', 'job', 'trigger', 'scheduled_for', 'started_at', 'finished_at', 'status', 'exit_code', 'host', 'pid', 'summary', 'error'];

function parseSummary(value: unknown): Record<string, unknown> | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'object') return value as Record<string, unknown>;
  try {
    const parsed = JSON.parse(String(value));
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : { value: parsed };
  } catch {
    // Another program wrote plain text: keep it readable rather than failing the status command.
    return { text: String(value) };
  }
}

/** A run as --json prints it (jobs, why): instants in ISO-8601 UTC. */
export function jobRunJson(r: JobRun) {
  return {
    id: r.id,
    trigger: r.trigger,
    scheduledFor: r.scheduledFor?.toISOString() ?? null,
    startedAt: r.startedAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
    status: r.status,
    exitCode: r.exitCode,
    host: r.host,
    pid: r.pid,
    error: r.error,
  };
}

export function toJobRun(row: Record<string, unknown>): JobRun {
  return {
    id: Number(row.id),
    job: String(row.job),
    trigger: String(row.trigger),
    scheduledFor: fromDbInstant(row.scheduled_for),
    startedAt: fromDbInstant(row.started_at)!,
    finishedAt: fromDbInstant(row.finished_at),
    status: String(row.status),
    exitCode: row.exit_code === null || row.exit_code === undefined ? null : Number(row.exit_code),
    host: (row.host as string | null) ?? null,
    pid: row.pid === null || row.pid === undefined ? null : Number(row.pid),
    summary: parseSummary(row.summary),
    error: (row.error as string | null) ?? null,
  };
}

/** The run recorded for exactly this schedule slot (the unique (job, scheduled_for) key), if any. */
export async function runForSlot(db: Knex, dialect: Dialect, job: string, slot: Date): Promise<JobRun | undefined> {
  const row = await db(ownTables(db).jobRuns).where({ job, scheduled_for: toDbInstant(dialect, slot) }).first(COLUMNS);
  return row ? toJobRun(row) : undefined;
}

/**
 * The run that served a slot: the dispatcher's row for it, or else the first run of the job that
 * started at or after the slot and before `until` (a crontab line or a person started the job
 * directly; such runs have no scheduled_for). Real runs are preferred over `skipped` ones.
 */
export async function runServingSlot(db: Knex, dialect: Dialect, job: string, slot: Date, until: Date): Promise<JobRun | undefined> {
  const exact = await runForSlot(db, dialect, job, slot);
  if (exact && exact.status !== 'skipped') return exact;
  const rows = await db(ownTables(db).jobRuns)
    .select(COLUMNS)
    .where({ job })
    .where('started_at', '>=', toDbInstant(dialect, slot))
    .where('started_at', '<=', toDbInstant(dialect, until))
    .orderBy('started_at', 'asc')
    .orderBy('id', 'asc')
    .limit(50);
  const runs = rows.map(toJobRun);
  return runs.find((r) => r.status !== 'skipped') ?? exact ?? runs[0];
}

/** The job's most recent run of any kind (newest started_at), optionally only up to an instant. */
export async function lastRun(db: Knex, dialect: Dialect, job: string, until?: Date): Promise<JobRun | undefined> {
  let q = db(ownTables(db).jobRuns).select(COLUMNS).where({ job });
  if (until) q = q.where('started_at', '<=', toDbInstant(dialect, until));
  const row = await q.orderBy('started_at', 'desc').orderBy('id', 'desc').first();
  return row ? toJobRun(row) : undefined;
}

/** The newest dispatcher run of the job (the latest scheduled_for at or before an instant). */
export async function lastScheduledRun(db: Knex, dialect: Dialect, job: string, until: Date): Promise<JobRun | undefined> {
  const row = await db(ownTables(db).jobRuns)
    .select(COLUMNS)
    .where({ job })
    .whereNotNull('scheduled_for')
    .where('scheduled_for', '<=', toDbInstant(dialect, until))
    .orderBy('scheduled_for', 'desc')
    .first();
  return row ? toJobRun(row) : undefined;
}

/**
 * When ontime's tables were created (the first migration): slots before it were never ontime's
 * to run, so status commands call them "before setup" rather than "missed".
 */
export async function installedAt(db: Knex): Promise<Date | null> {
  if (!(await db.schema.hasTable(ownTables(db).migrations))) return null;
  const row = await db(ownTables(db).migrations).min({ at: 'migration_time' }).first();
  try {
    return fromDbInstant(row?.at);
  } catch {
    return null;
  }
}

/** Statuses of a run that has ended and did (or tried to do) the job's work. */
export const FINISHED_STATUSES = ['succeeded', 'partial', 'failed', 'interrupted', 'abandoned'] as const;

/**
 * The job's most recent finished run (newest started_at) up to an instant: what `check`, `why`
 * and `jobs` judge the job by, since a later run by hand can fail after the slot's run succeeded.
 */
export async function lastFinishedRun(db: Knex, dialect: Dialect, job: string, until: Date): Promise<JobRun | undefined> {
  const row = await db(ownTables(db).jobRuns)
    .select(COLUMNS)
    .where({ job })
    .whereIn('status', FINISHED_STATUSES as unknown as string[])
    .where('started_at', '<=', toDbInstant(dialect, until))
    .orderBy('started_at', 'desc')
    .orderBy('id', 'desc')
    .first();
  return row ? toJobRun(row) : undefined;
}

/** The job's newest runs (newest first), at most `limit`, up to an instant. */
export async function newestRuns(db: Knex, dialect: Dialect, job: string, until: Date, limit: number): Promise<JobRun[]> {
  const rows = await db(ownTables(db).jobRuns)
    .select(COLUMNS)
    .where({ job })
    .where('started_at', '<=', toDbInstant(dialect, until))
    .orderBy('started_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit);
  return rows.map(toJobRun);
}
