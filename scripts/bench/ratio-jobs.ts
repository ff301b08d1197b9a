/**
 * `npx tsx scripts/bench/ratio-jobs.ts --db postgres --scale 0.2 [--jobs cleanup-survey-progress,…] [--rounds N]
 *   [--bins bin/ontime,/elsewhere/bin/ontime] [--verbose]`
 *
 * The in-process ratio of `npm run bench` (raw SQL s / ontime durationMs) for a few jobs only:
 * seed, run the jobs through the built CLI, reseed, run the raw SQL; `--rounds` repeats the pair
 * so figures taken on a loaded machine can be compared by median. Prints one line per job and
 * round: items, ontime s, raw s, ratio, batches, smallest/largest/last batch, longest transaction.
 * `--bins`: several builds (e.g. one of the commit before a change), each on its own fresh seed,
 * in turn within every round: a before/after taken interleaved. Not part of `npm test`.
 * `--verbose` passes --verbose to the job (which then lists every row: slower) and prints its
 * per-batch lines.
 */
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { BenchDatabases, type BenchDbName } from './database.js';
import { runNode } from './process.js';
import { seedAll, sizesAt } from './seed.js';
import { WORKLOADS } from './workloads.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'ontime');

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const db = opt('--db', 'postgres') as BenchDbName;
const scale = Number(opt('--scale', '0.2'));
const rounds = Number(opt('--rounds', '1'));
const verbose = args.includes('--verbose');
const bins = opt('--bins', bin).split(',').map((b) => resolve(b));
const wanted = opt('--jobs', 'cleanup-survey-progress,process-data-governance').split(',');
// Jobs keep the bench's order on one seed (cleanup before governance).
const workloads = WORKLOADS.filter((w) => wanted.includes(w.job));
const sizes = sizesAt(scale);
// Only the case jobs read cases: leave them out of the seed when none is asked for.
if (!workloads.some((w) => /release|weekly/.test(w.job))) sizes.cases = 1;
const now = new Date('2026-06-15T12:00:00Z');

async function main(): Promise<void> {
  const dbs = new BenchDatabases(db);
  try {
    for (let round = 1; round <= rounds; round += 1) {
      const ontime = new Map<string, Map<string, any>>();
      for (const build of bins) {
        const cur = await dbs.fresh();
        await seedAll(cur, now, sizes);
        const runs = new Map<string, any>();
        for (const w of workloads) {
          const env = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', DATABASE_URL: cur.url };
          const proc = await runNode([build, w.job, '--json', '--now', now.toISOString(), ...(verbose ? ['--verbose'] : [])], env, { measureRss: false });
          if (verbose) process.stderr.write(proc.stderr.split('\n').filter((l) => /batch/i.test(l)).join('\n') + '\n');
          runs.set(w.job, JSON.parse(proc.stdout || 'null'));
        }
        ontime.set(build, runs);
        await cur.knex.destroy();
      }
      const cur = await dbs.fresh();
      await seedAll(cur, now, sizes);
      for (const w of workloads) {
        const t = performance.now();
        const items = await w.raw(cur.knex, cur.dialect, now);
        const rawMs = performance.now() - t;
        for (const build of bins) {
          const json = ontime.get(build)!.get(w.job);
          const ms = Number(json?.durationMs);
          const timing = json?.timing ?? {};
          process.stdout.write(
            `${db} r${round} ${w.job} [${build}]: items ${items}, ontime ${(ms / 1000).toFixed(2)} s, raw ${(rawMs / 1000).toFixed(2)} s, ratio ${(rawMs / ms).toFixed(2)}, ` +
              `batches ${timing.batches} (${timing.smallestBatchSize}–${timing.largestBatchSize}), longest ${timing.longestBatchMs} ms, load ${loadavg()[0]!.toFixed(1)}\n`,
          );
        }
      }
      await cur.knex.destroy();
    }
  } finally {
    await dbs.drop();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exitCode = 1;
});
