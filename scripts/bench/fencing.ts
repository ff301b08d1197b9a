/**
 * The cost of fencing on its own, per dialect (docs/performance.md, "Fencing"): what a run paid
 * before every batch to confirm its lock (a pg_locks / IS_USED_LOCK query on the lock connection,
 * or a lease renewal committed on its own), against what it pays now (nothing for an advisory
 * lock; one UPDATE inside the batch's own transaction for a lease).
 *
 *   tsx scripts/bench/fencing.ts [--db all|sqlite,postgres,mysql] [--n 1000]
 *
 * Prints microseconds per batch (median and mean of n). Uses its own database on each server.
 */
process.env.ONTIME_BENCH_DATABASE ??= 'ontime_bench_fencing';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : fallback;
};

async function timeEach(n: number, fn: () => Promise<unknown> | unknown): Promise<{ medianUs: number; meanUs: number }> {
  for (let i = 0; i < Math.min(50, n); i++) await fn(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    times.push((performance.now() - t) * 1000);
  }
  times.sort((a, b) => a - b);
  return { medianUs: Math.round(times[Math.floor(n / 2)]!), meanUs: Math.round(times.reduce((s, v) => s + v, 0) / n) };
}

async function main(): Promise<void> {
  const { BenchDatabases, probe } = await import('./database.js');
  const { parseDatabaseUrl } = await import('../../src/config.js');
  const { connect } = await import('../../src/db/connect.js');
  const locks = await import('../../src/db/locks.js');
  const { acquireJobLock } = await import('../../src/runner/locks.js');
  const n = Number(arg('--n', '1000'));
  const wanted = arg('--db', 'all');
  const names = (wanted === 'all' ? ['sqlite', 'postgres', 'mysql'] : wanted.split(',')) as Array<'sqlite' | 'postgres' | 'mysql'>;
  const rows: Array<Record<string, string | number>> = [];
  for (const name of names) {
    const down = await probe(name);
    if (down) {
      console.log(`${name}: not available (${down})`);
      continue;
    }
    const dbs = new BenchDatabases(name);
    const bench = await dbs.fresh();
    const db = await connect(parseDatabaseUrl(bench.url));
    const { dialect } = bench;
    const job = 'fencing-bench';
    try {
      // A minimal batch transaction that writes (so it commits for real, as every batch does):
      // what the fence is added to.
      await db.schema.createTable('fencing_bench', (t) => {
        t.integer('id').primary();
        t.integer('n').notNullable();
      });
      await db('fencing_bench').insert({ id: 1, n: 0 });
      const write = (trx: import('knex').Knex.Transaction) => trx('fencing_bench').where({ id: 1 }).increment('n', 1);
      const base = await timeEach(n, () => db.transaction(write));
      rows.push({ db: bench.version, what: 'batch transaction alone (one UPDATE; reference)', ...base });
      if (dialect !== 'sqlite') {
        const client = db.client as { acquireConnection(): Promise<unknown>; releaseConnection(c: unknown): Promise<void> };
        const conn = await client.acquireConnection();
        await locks.tryAdvisoryLock(db, dialect, conn, job);
        const before = await timeEach(n, () => locks.advisoryLockIsMine(db, dialect, conn, job));
        rows.push({ db: bench.version, what: `advisory, before: ${dialect === 'postgres' ? 'pg_locks' : 'IS_USED_LOCK'} query per batch`, ...before });
        await locks.releaseAdvisoryLock(db, dialect, conn, job);
        await client.releaseConnection(conn);
        const attempt = await acquireJobLock({ db, dialect, mode: 'auto', job, holder: 'bench', timeoutMs: 60_000 });
        if (!attempt.acquired) throw new Error('advisory lock not acquired');
        const now = await timeEach(n, () => attempt.lock.held());
        rows.push({ db: bench.version, what: 'advisory, now: connection known alive (no query)', ...now });
        await attempt.lock.release();
      }
      const attempt = await acquireJobLock({ db, dialect, mode: 'table', job, holder: 'bench', timeoutMs: 60_000 });
      if (!attempt.acquired) throw new Error('lease not acquired');
      const lock = attempt.lock;
      const before = await timeEach(n, () => lock.confirm());
      rows.push({ db: bench.version, what: 'lease, before: renewal committed on its own per batch', ...before });
      const fenced = await timeEach(n, () => db.transaction(async (trx) => (await lock.fence(trx), write(trx))));
      rows.push({ db: bench.version, what: 'lease, now: batch transaction with the renewal inside (reference + fence)', ...fenced });
      await lock.release();
      await db.schema.dropTable('fencing_bench');
    } finally {
      await db.destroy();
      await dbs.drop(bench);
    }
  }
  console.log(`fencing cost per batch, n=${n} (µs)`);
  for (const r of rows) console.log(`${String(r.db).padEnd(34)} ${String(r.what).padEnd(76)} median ${String(r.medianUs).padStart(6)}  mean ${String(r.meanUs).padStart(6)}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
