/**
 * `npx tsx scripts/bench-mail.ts [--db all|sqlite,postgres,mysql] [--messages N] [--runs N] [--bin PATH]`
 *
 * The mail section of `npm run bench` on its own, for quick before/after figures: a fresh
 * database per run with N cases due for their email, then `send-scheduled-emails` at the default
 * settings (ONTIME_SMTP_CONNECTIONS passed through when set) against the loopback SMTP server.
 * Prints msgs/s per run (wall time of the process, start-up included) and the median per
 * database, with the load average, since the machine may be shared. Build first (`npm run build`);
 * `--bin` runs another build (e.g. of an older commit) for comparison. ONTIME_BENCH_DATABASE names
 * the server database it creates and drops (default `ontime_bench`, shared with `npm run bench`).
 */
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchDatabases, probe, type BenchDbName } from './bench/database.js';
import { cleanupScratch, median, runNode } from './bench/process.js';
import { seedMailCases } from './bench/seed.js';
import { startLoopbackSmtp } from './bench/smtp.js';
import { wholeSecond } from './bench/sql.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const opts = { dbs: ['sqlite', 'postgres', 'mysql'] as BenchDbName[], messages: 4000, runs: 1, bin: join(root, 'bin', 'ontime') };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const value = argv[++i];
  if (value === undefined) throw new Error(`${argv[i - 1]} needs a value`);
  if (argv[i - 1] === '--db') opts.dbs = value === 'all' ? opts.dbs : (value.split(',') as BenchDbName[]);
  else if (argv[i - 1] === '--messages') opts.messages = Number(value);
  else if (argv[i - 1] === '--runs') opts.runs = Number(value);
  else if (argv[i - 1] === '--bin') opts.bin = resolve(value);
  else throw new Error(`unknown option ${argv[i - 1]}`);
}

const now = wholeSecond(new Date(Date.now() - 1000));
const smtp = await startLoopbackSmtp();
const connections = process.env.ONTIME_SMTP_CONNECTIONS ? `ONTIME_SMTP_CONNECTIONS=${process.env.ONTIME_SMTP_CONNECTIONS}` : 'default connections';
try {
  for (const name of opts.dbs) {
    const problem = await probe(name);
    if (problem) {
      process.stdout.write(`${name}: not available (${problem})\n`);
      continue;
    }
    const rates: number[] = [];
    for (let run = 0; run < opts.runs; run++) {
      const dbs = new BenchDatabases(name);
      const db = await dbs.fresh();
      try {
        await seedMailCases(db, now, opts.messages);
        const before = smtp.received();
        const env = {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          NO_COLOR: '1',
          DATABASE_URL: db.url,
          EMAIL_BACKEND: 'smtp',
          EMAIL_HOST: '127.0.0.1',
          EMAIL_PORT: String(smtp.port),
          DEFAULT_FROM_EMAIL: 'ontime-bench@example.test',
          ...(process.env.ONTIME_SMTP_CONNECTIONS ? { ONTIME_SMTP_CONNECTIONS: process.env.ONTIME_SMTP_CONNECTIONS } : {}),
        };
        const proc = await runNode([opts.bin, 'send-scheduled-emails', '--json', '--now', now.toISOString()], env, { timeoutMs: 30 * 60_000 });
        const received = smtp.received() - before;
        if (proc.code !== 0) throw new Error(`send-scheduled-emails exited ${proc.code}: ${proc.stderr.trim().slice(0, 500)}`);
        const rate = received / (proc.wallMs / 1000);
        rates.push(rate);
        process.stdout.write(
          `${name} run ${run + 1}: ${received} messages in ${(proc.wallMs / 1000).toFixed(2)} s = ${rate.toFixed(0)} msgs/s (${connections}, peak ${((proc.peakRssBytes ?? 0) / 1048576).toFixed(0)} MB, load average ${loadavg()[0]!.toFixed(1)})\n`,
        );
      } finally {
        await dbs.drop(db);
      }
    }
    process.stdout.write(`${name}: median ${median(rates).toFixed(0)} msgs/s over ${rates.length} run(s) of ${opts.messages} messages\n`);
  }
} finally {
  await smtp.close();
  cleanupScratch();
}
