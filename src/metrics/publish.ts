/**
 * The end of a real run, for monitoring: its series pushed to a Pushgateway
 * (ONTIME_METRICS_PUSHGATEWAY) and/or merged into a node_exporter textfile
 * (ONTIME_METRICS_TEXTFILE). Monitoring must never fail a job: every problem here is a warning.
 */
import type { Knex } from 'knex';
import type { Output } from '../output.js';
import { lastSuccessAt, lockSkippedCount } from '../db/run-metrics.js';
import { outboxSamples } from './collect.js';
import { itemOutcomes, runSeries, type RunFacts, type Sample } from './series.js';

export interface MetricsTargets {
  pushgateway?: string;
  textfile?: string;
}

export function metricsTargets(env: Record<string, string | undefined>): MetricsTargets {
  return {
    pushgateway: env.ONTIME_METRICS_PUSHGATEWAY?.trim() || undefined,
    textfile: env.ONTIME_METRICS_TEXTFILE?.trim() || undefined,
  };
}

export interface FinishedRun {
  db: Knex;
  env: Record<string, string | undefined>;
  out: Output;
  host: string;
  /** How the run ended, as the runner saw it; last success and lock skips are read from job_runs. */
  run: Omit<RunFacts, 'lastSuccessAt' | 'lockSkipped'>;
}

async function orWarn<T>(out: Output, what: string, fallback: T, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    // fetch says only "fetch failed"; the reason (ECONNREFUSED, a timeout) is its cause.
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const reason = [(err as Error).message, cause?.code ?? cause?.message].filter(Boolean).join(': ');
    out.warn(`metrics: ${what}: ${reason} (the run itself is not affected)`, { metrics: what });
    return fallback;
  }
}

/**
 * The runner's one call at the end of a real run: a closing log record with the run's figures
 * (JSON log format only), then the metrics.
 */
export async function reportRunEnd(f: FinishedRun & { status: string; batchSize: number | 'auto' }): Promise<void> {
  const { run } = f;
  const durationMs = Math.round(run.finishedAt.getTime() - run.startedAt.getTime());
  f.out.record(run.exitCode === 0 ? 'info' : run.exitCode === 1 ? 'warn' : 'error', `run ${f.status}, exit ${run.exitCode}, ${durationMs} ms`, {
    status: f.status,
    exitCode: run.exitCode,
    durationMs,
    batchSize: f.batchSize,
    items: itemOutcomes(run.summary, run.failed),
  });
  await publishRunMetrics(f);
}

export async function publishRunMetrics(f: FinishedRun): Promise<void> {
  const targets = metricsTargets(f.env);
  if (!targets.pushgateway && !targets.textfile) return;
  const { db, out, run } = f;
  const succeededNow = run.exitCode === 0;
  const facts: RunFacts = {
    ...run,
    // This run's own row may not have been written (database lost at the end): it still counts.
    lastSuccessAt: succeededNow ? run.finishedAt : await orWarn(out, 'reading the last success', null, () => lastSuccessAt(db, run.job)),
    lockSkipped: await orWarn(out, 'counting lock skips', 0, () => lockSkippedCount(db, run.job)),
  };
  const jobSamples = runSeries(facts);
  // null: the outbox could not be read, so what the gateway or file holds is left as it is.
  const outbox = await orWarn<Sample[] | null>(out, 'reading the outbox', null, () => outboxSamples(db));

  if (targets.pushgateway) {
    const { pushGroup, OUTBOX_GROUP_JOB } = await import('./pushgateway.js');
    const url = targets.pushgateway;
    const key: Record<string, string> = { job: run.job, instance: f.host, ...(run.shard ? { shard: run.shard } : {}) };
    const pushed = await orWarn(out, `pushing to ${url}`, false, () => pushGroup(url, key, jobSamples).then(() => true));
    // A gateway that refused the first push would refuse the second too: one warning is enough.
    if (pushed && outbox) await orWarn(out, `pushing the outbox to ${url}`, undefined, () => pushGroup(url, { job: OUTBOX_GROUP_JOB }, outbox));
  }
  if (targets.textfile) {
    const { writeTextfile } = await import('./textfile.js');
    const file = targets.textfile;
    await orWarn(out, `writing ${file}`, undefined, () => writeTextfile(file, [...jobSamples, ...(outbox ?? [])]));
  }
}
