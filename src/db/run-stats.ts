/** Counting job_runs over a period: `jobs` (last 30 days), `status` and the weekly report. */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { toJobRun, type JobRun } from './job-status.js';
import { toDbInstant } from './time.js';
import { ownTables } from './schema.js';

export interface RunCount {
  job: string;
  status: string;
  runs: number;
}

/** Runs per job and status that started at or after `since`. */
export async function runCountsSince(db: Knex, dialect: Dialect, since: Date): Promise<RunCount[]> {
  const rows = await db(ownTables(db).jobRuns)
    .select('job', 'status')
    .count({ n: '*' })
    .where('started_at', '>=', toDbInstant(dialect, since))
    .groupBy('job', 'status');
  return rows.map((r: Record<string, unknown>) => ({ job: String(r.job), status: String(r.status), runs: Number(r.n) }));
}

/** Every run that started in [from, to), oldest first. */
export async function runsBetween(db: Knex, dialect: Dialect, from: Date, to: Date): Promise<JobRun[]> {
  const rows = await db(ownTables(db).jobRuns)
    .select('*')
    .where('started_at', '>=', toDbInstant(dialect, from))
    .where('started_at', '<', toDbInstant(dialect, to))
    .orderBy('started_at')
    .orderBy('id');
  return rows.map(toJobRun);
}

/** A job's newest runs, newest first. */
export async function latestRuns(db: Knex, job: string, limit: number): Promise<JobRun[]> {
  const rows = await db(ownTables(db).jobRuns).select('*').where({ job }).orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit);
  return rows.map(toJobRun);
}

/**
 * The items a run worked on, from the counts its summary holds (each job names its own: released,
 * sent, moved, deleted, the governance job's warnings and deletions); null when it names none.
 */
export function runItems(summary: Record<string, unknown> | null): number | null {
  if (!summary) return null;
  const keys = ['released', 'sent', 'moved', 'deleted', 'warningsSent', 'softDeleted', 'hardDeleted', 'reportsSent'];
  let total: number | null = null;
  for (const k of keys) {
    const v = summary[k];
    if (typeof v === 'number' && Number.isFinite(v)) total = (total ?? 0) + v;
  }
  if (total === null && typeof summary.itemsDone === 'number') return summary.itemsDone;
  return total;
}

export interface RunRate {
  /** Runs that did something: every ending but `skipped`. */
  runs: number;
  /** failed, partial, interrupted and abandoned runs. */
  failures: number;
  /** succeeded / runs, 0..1; null without runs. */
  successRate: number | null;
}

const FAILURE_ENDINGS = new Set(['failed', 'partial', 'interrupted', 'abandoned']);

/** Runs, failures and success rate per job from runCountsSince's rows. */
export function runRates(counts: RunCount[]): Map<string, RunRate> {
  const rates = new Map<string, RunRate & { succeeded: number }>();
  for (const c of counts) {
    const rate = rates.get(c.job) ?? { runs: 0, failures: 0, successRate: null, succeeded: 0 };
    if (c.status !== 'skipped') rate.runs += c.runs;
    if (FAILURE_ENDINGS.has(c.status)) rate.failures += c.runs;
    if (c.status === 'succeeded') rate.succeeded += c.runs;
    rates.set(c.job, rate);
  }
  return new Map(
    [...rates].map(([job, { runs, failures, succeeded }]) => [job, { runs, failures, successRate: runs > 0 ? succeeded / runs : null }]),
  );
}
