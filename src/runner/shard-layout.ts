/**
 * One layout of a job at a time (docs/run-safety.md, "Shards and unsharded runs"): shards of one
 * n run side by side, but an unsharded run and any shard, or shards of different n (`1/3` and
 * `2/4` share rows), never overlap. Their locks have different names (`<job>`, `<job>#i/n`), so
 * the lock alone does not exclude them.
 *
 * Every run first takes its own lock and writes its `running` row, and only then looks for a live
 * run of another layout: the unsharded lock `<job>` (asked for by name), and the locks of the
 * shards that have a `running` row (a shard's lock name is known only from its row). A lock counts
 * only while it is held: a crashed shard's row stays `running`, but its advisory lock went with its
 * session and its lease expires, so it stops blocking exactly as the job's own lock does.
 *
 * No race: each run is visible (lock held, row committed) before it looks. Of two runs of
 * different layouts starting together, the later to look sees the other, so they never both go
 * on; at worst both step back, and the next schedule slot runs. The same reasoning holds for
 * leases, advisory locks and SQLite alike: only "is this lock held now" is asked of the mode.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { runningShards } from '../db/job-runs.js';
import type { Shard } from '../parse.js';
import { currentHolder, type LockHolderInfo } from './locks.js';

export interface LayoutConflict {
  /** The lock name of the run in the way: `<job>` or `<job>#i/n`. */
  lock: string;
  heldBy: LockHolderInfo;
}

export async function layoutConflict(req: {
  db: Knex;
  dialect: Dialect;
  mode: 'auto' | 'table';
  job: string;
  shard: Shard | undefined;
}): Promise<LayoutConflict | undefined> {
  const { db, dialect, mode, job, shard } = req;
  const others = (await runningShards(db, job)).filter((label) => !shard || Number(label.split('/')[1]) !== shard.count);
  const candidates = [...(shard ? [job] : []), ...others.map((label) => `${job}#${label}`)];
  for (const lock of candidates) {
    const heldBy = await currentHolder({ db, dialect, mode, job: lock });
    if (heldBy) return { lock, heldBy };
  }
  return undefined;
}
