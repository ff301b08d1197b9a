/** Series from job_runs and the outbox: for the end of a run, and for `ontime metrics`. */
import type { Knex } from 'knex';
import { lastSuccessAt, latestEndedRun, lockSkippedCount, outboxCounts } from '../db/run-metrics.js';
import { fromDbInstant } from '../db/time.js';
import { outboxSeries, runSeries, type RunFacts, type Sample } from './series.js';

export async function outboxSamples(db: Knex): Promise<Sample[]> {
  return outboxSeries(await outboxCounts(db));
}

/** The series of a job's latest run that ended (skipped runs did nothing); [] for a job that never ran. */
export async function latestRunSamples(db: Knex, job: string): Promise<Sample[]> {
  const row = await latestEndedRun(db, job);
  if (!row) return [];
  let summary: Record<string, unknown> = {};
  try {
    summary = row.summary ? (JSON.parse(row.summary) as Record<string, unknown>) : {};
  } catch {
    // An unreadable summary still leaves duration, exit code and timestamps.
  }
  const startedAt = fromDbInstant(row.started_at) ?? new Date(0);
  const facts: RunFacts = {
    job,
    exitCode: row.exit_code ?? 70,
    startedAt,
    finishedAt: fromDbInstant(row.finished_at) ?? startedAt,
    summary,
    lastSuccessAt: await lastSuccessAt(db, job),
    lockSkipped: await lockSkippedCount(db, job),
  };
  return runSeries(facts);
}

/** Every job's latest run, and the outbox: what `ontime metrics` prints. */
export async function allLatestSamples(db: Knex, jobs: string[]): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (const job of jobs) samples.push(...(await latestRunSamples(db, job)));
  samples.push(...(await outboxSamples(db)));
  return samples;
}
