/**
 * The Prometheus series of ontime: what one run (or the latest run of a job) looks like to a
 * monitoring system. Pure functions; the values come from the runner or from job_runs.
 * docs/operations.md lists the series for dashboards and alert rules.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export type MetricType = 'gauge' | 'counter';

export const FAMILIES: Record<string, { type: MetricType; help: string }> = {
  ontime_run_duration_seconds: { type: 'gauge', help: 'Wall time of the latest run of the job.' },
  ontime_run_items_total: { type: 'gauge', help: 'Items the latest run handled, by outcome (the counts of its summary).' },
  ontime_run_exit_code: { type: 'gauge', help: 'Exit code of the latest run (0 done, 1 some items failed, 75 retry later, ...).' },
  ontime_run_last_success_timestamp_seconds: { type: 'gauge', help: 'When the job last finished a run that succeeded (Unix time).' },
  ontime_run_last_run_timestamp_seconds: { type: 'gauge', help: 'When the latest run of the job finished (Unix time).' },
  ontime_lock_skipped_total: { type: 'counter', help: 'Runs of the job skipped because another run held its lock.' },
  ontime_outbox_pending: { type: 'gauge', help: 'Outbox messages waiting to be sent, by kind.' },
  ontime_outbox_failed: { type: 'gauge', help: 'Outbox messages that failed permanently, by kind.' },
};

/** Series that describe the shared outbox rather than one job: they carry no job label. */
export const OUTBOX_FAMILIES = new Set(['ontime_outbox_pending', 'ontime_outbox_failed']);

/** How one run of one job ended: everything the job's series need. */
export interface RunFacts {
  job: string;
  /** The shard this run served, once sharding exists: a label, and part of every grouping key. */
  shard?: string;
  exitCode: number;
  startedAt: Date;
  finishedAt: Date;
  summary: Record<string, unknown>;
  /** Items that failed, when the summary does not count them itself. */
  failed?: number;
  lastSuccessAt: Date | null;
  lockSkipped: number;
}

/** Summary numbers that are settings or bookkeeping, not items handled. */
const NOT_ITEM_COUNTS = new Set(['batches', 'batchesDone', 'olderThanDays', 'from', 'to', 'longestBatchMs']);

/** The outcome counts of a run: every whole, non-negative number of its summary. */
export function itemOutcomes(summary: Record<string, unknown>, failed?: number): Record<string, number> {
  const outcomes: Record<string, number> = {};
  for (const [key, value] of Object.entries(summary)) {
    if (NOT_ITEM_COUNTS.has(key)) continue;
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0) outcomes[key] = value;
  }
  if (failed !== undefined && outcomes.failed === undefined) outcomes.failed = failed;
  return outcomes;
}

export function jobLabels(job: string, shard?: string): Record<string, string> {
  return shard ? { job, shard } : { job };
}

const seconds = (d: Date) => d.getTime() / 1000;

export function runSeries(run: RunFacts): Sample[] {
  const labels = jobLabels(run.job, run.shard);
  const samples: Sample[] = [
    { name: 'ontime_run_duration_seconds', labels, value: Math.max(0, seconds(run.finishedAt) - seconds(run.startedAt)) },
    { name: 'ontime_run_exit_code', labels, value: run.exitCode },
    { name: 'ontime_run_last_run_timestamp_seconds', labels, value: seconds(run.finishedAt) },
  ];
  // Never succeeded: no sample, so `time() - last_success` alerts through absent() rather than 1970.
  if (run.lastSuccessAt) samples.push({ name: 'ontime_run_last_success_timestamp_seconds', labels, value: seconds(run.lastSuccessAt) });
  for (const [outcome, value] of Object.entries(itemOutcomes(run.summary, run.failed))) {
    samples.push({ name: 'ontime_run_items_total', labels: { ...labels, outcome }, value });
  }
  samples.push({ name: 'ontime_lock_skipped_total', labels, value: run.lockSkipped });
  return samples;
}

export function outboxSeries(counts: Array<{ kind: string; status: 'pending' | 'failed'; count: number }>): Sample[] {
  return counts.map((c) => ({
    name: c.status === 'failed' ? 'ontime_outbox_failed' : 'ontime_outbox_pending',
    labels: { kind: c.kind },
    value: c.count,
  }));
}
