/**
 * Keyset batches: `id > last ORDER BY id LIMIT n`, one short transaction each, so no lock is held
 * for long and memory does not grow with the table. Between batches the runner's checkpoint runs
 * (lease, time limit, signals).
 */
import type { Knex } from 'knex';
import type { Output } from '../output.js';
import type { BatchSpec, BatchTotals } from './types.js';

export interface BatchEnvironment {
  db: Knex;
  dryRun: boolean;
  batchSize: number;
  out: Output;
  checkpoint(): Promise<void>;
  /** --limit left over for the whole run. */
  remaining(): number;
  consume(n: number): void;
  /** Longest batch transaction seen so far, in ms (for the benchmark and job_runs.summary). */
  recordBatchDuration(ms: number): void;
}

export async function runBatches<Row extends { id: number }>(
  env: BatchEnvironment,
  spec: BatchSpec<Row>,
): Promise<BatchTotals> {
  let afterId = 0;
  let items = 0;
  let batches = 0;
  let limited = false;
  for (;;) {
    const allowed = env.remaining();
    if (allowed <= 0) {
      limited = true;
      break;
    }
    const size = Math.min(env.batchSize, allowed);
    if (spec.take && !env.dryRun) {
      // One statement picks and changes the batch: a row the statement passed over because it
      // stopped being due is simply not returned, so only an empty batch says "done".
      await env.checkpoint();
      const started = performance.now();
      const taken = await env.db.transaction((trx) => spec.take!(trx, afterId, size));
      env.recordBatchDuration(performance.now() - started);
      if (taken.length === 0) break;
      batches += 1;
      items += taken.length;
      env.consume(taken.length);
      for (const row of taken) afterId = Math.max(afterId, Number(row.id));
      env.out.progress(`${spec.label ?? 'working'}: ${items.toLocaleString('en-US')} items in ${batches} batches`);
      continue;
    }
    const rows = await spec.select(afterId, size);
    if (rows.length === 0) break;
    await env.checkpoint();
    if (env.dryRun) {
      await spec.preview?.(rows);
    } else {
      const started = performance.now();
      await env.db.transaction(async (trx) => {
        await spec.apply(trx, rows);
      });
      env.recordBatchDuration(performance.now() - started);
    }
    batches += 1;
    items += rows.length;
    env.consume(rows.length);
    afterId = Number(rows[rows.length - 1]!.id);
    if (batches > 1 || rows.length === size) {
      env.out.progress(`${spec.label ?? 'working'}: ${items.toLocaleString('en-US')} items in ${batches} batches`);
    }
    if (rows.length < size) break;
  }
  env.out.clearProgress();
  return { items, batches, limited };
}
