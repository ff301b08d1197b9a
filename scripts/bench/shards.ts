/**
 * 1 shard against 2 (docs/performance.md, "Shards"): cleanup-survey-progress over the bench's
 * progress rows at the given scale (PostgreSQL and MariaDB: the id swap below is their SQL), once
 * as one run, then (reseeded) as `--shard 0/2` and `--shard 1/2` started together; wall time of
 * the whole work and each run's durationMs.
 *
 *   npm run build && tsx scripts/bench/shards.ts [--db postgres] [--scale 0.4]
 */
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

process.env.ONTIME_BENCH_DATABASE ??= 'ontime_bench_shards';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : fallback;
};

async function main(): Promise<void> {
  const { BenchDatabases } = await import('./database.js');
  const { seedSurveys, sizesAt } = await import('./seed.js');
  const { runNode } = await import('./process.js');
  const { wholeSecond } = await import('./sql.js');
  const { cleanup } = await import('./workloads.js');
  const bin = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'bin', 'ontime');
  const name = arg('--db', 'postgres') as 'postgres' | 'mysql' | 'sqlite';
  const scale = Number(arg('--scale', '0.4'));
  const sizes = sizesAt(scale);
  const dbs = new BenchDatabases(name);
  const now = wholeSecond(new Date(Date.now() - 1000));
  const env = (url: string) => ({ PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', DATABASE_URL: url });
  const job = (url: string, ...extra: string[]) => runNode([bin, cleanup.job, '--json', '--now', now.toISOString(), ...extra], env(url), { measureRss: false });
  const seeded = async () => {
    const db = await dbs.fresh();
    await seedSurveys(db, now, { surveys: sizes.surveys, responses: 1000, progress: sizes.progress });
    // The bench's seed makes rows 4k and 4k+2 the due ones: all of them even, so `--shard 1/2`
    // would find nothing. Swapping ids 4k+2 and 4k+3 spreads the due rows evenly over both
    // parities (the same rows, the same work for the unsharded run).
    await db.knex.raw('UPDATE survey_progress SET id = -id WHERE id % 4 IN (2, 3)');
    await db.knex.raw('UPDATE survey_progress SET id = CASE WHEN (-id) % 4 = 2 THEN -id + 1 ELSE -id - 1 END WHERE id < 0');
    const due = await cleanup.due(db.knex, db.dialect, now);
    return { db, due };
  };
  try {
    for (const shards of [1, 2]) {
      const { db, due } = await seeded();
      const started = performance.now();
      const runs = await Promise.all(Array.from({ length: shards }, (_, i) => job(db.url, ...(shards > 1 ? ['--shard', `${i}/${shards}`] : []))));
      const wallMs = performance.now() - started;
      const results = runs.map((r) => {
        if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
        const j = JSON.parse(r.stdout);
        return { deleted: Number(j.summary.deleted), durationMs: Number(j.durationMs), batches: j.timing?.batches, longest: j.timing?.longestBatchMs };
      });
      const deleted = results.reduce((s, r) => s + r.deleted, 0);
      if (deleted !== due) throw new Error(`${shards} shard(s) deleted ${deleted} of ${due} due rows`);
      console.log(
        `${db.version}, scale ${scale}: ${shards} ${shards === 1 ? 'run ' : 'shards'} deleted ${deleted.toLocaleString('en-US')} rows in ${(wallMs / 1000).toFixed(2)} s wall ` +
          `(${Math.round(deleted / (wallMs / 1000)).toLocaleString('en-US')} rows/s); per run durationMs ${results.map((r) => r.durationMs).join(', ')}, ` +
          `batches ${results.map((r) => r.batches).join(', ')}, longest transaction ${results.map((r) => r.longest).join(', ')} ms`,
      );
      await dbs.drop(db);
    }
  } finally {
    await dbs.drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
