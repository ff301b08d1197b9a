/** The few reads behind the Prometheus series: latest finished run, last success, lock skips, outbox. */
import type { Knex } from 'knex';
import { fromDbInstant } from './time.js';
import type { JobRunRow } from './job-runs.js';
import { ownTables } from './schema.js';

/** Statuses of a run that ended doing (or failing to do) its work; `skipped` runs did nothing. */
const ENDED = ['succeeded', 'partial', 'failed', 'interrupted', 'abandoned'];

export async function latestEndedRun(db: Knex, job: string): Promise<JobRunRow | undefined> {
  return db(ownTables(db).jobRuns).where({ job }).whereIn('status', ENDED).whereNotNull('finished_at').orderBy('id', 'desc').first();
}

export async function lastSuccessAt(db: Knex, job: string): Promise<Date | null> {
  const row: { finished_at: unknown } | undefined = await db(ownTables(db).jobRuns)
    .where({ job, status: 'succeeded' })
    .orderBy('id', 'desc')
    .first('finished_at');
  return row ? fromDbInstant(row.finished_at) : null;
}

/** Runs skipped because another run held the job's lock (the reason is in the summary text). */
export async function lockSkippedCount(db: Knex, job: string): Promise<number> {
  const row = await db(ownTables(db).jobRuns)
    .where({ job, status: 'skipped' })
    .andWhere('summary', 'like', '%lock held%')
    .count({ n: '*' })
    .first();
  return Number((row as { n?: unknown } | undefined)?.n ?? 0);
}

export interface OutboxCount {
  kind: string;
  status: 'pending' | 'failed';
  count: number;
}

/**
 * Outbox rows waiting (pending, or claimed by a run: sending) and permanently failed, by kind.
 * Every kind the outbox has ever held gets both counts, zeros included, so a graph has no gaps.
 */
export async function outboxCounts(db: Knex): Promise<OutboxCount[]> {
  const rows: Array<{ kind: string | null; status: string; n: unknown }> = await db(ownTables(db).emailOutbox)
    .select('kind', 'status')
    .count({ n: '*' })
    .groupBy('kind', 'status');
  const byKey = new Map<string, OutboxCount>();
  const entry = (kind: string, status: OutboxCount['status']) => {
    const key = `${kind}\u0000${status}`;
    if (!byKey.has(key)) byKey.set(key, { kind, status, count: 0 });
    return byKey.get(key)!;
  };
  for (const r of rows) {
    const kind = r.kind ?? 'unknown';
    entry(kind, 'pending');
    entry(kind, 'failed');
    if (r.status === 'pending' || r.status === 'sending') entry(kind, 'pending').count += Number(r.n);
    if (r.status === 'failed') entry(kind, 'failed').count += Number(r.n);
  }
  return [...byKey.values()];
}
