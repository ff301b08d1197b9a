/**
 * `npm run bench [-- --db sqlite|postgres|mysql|all] [--scale N] [--startup-runs N] [--out FILE]`
 *
 * For each available database: seed realistic data set-based, run each batch job through the
 * built CLI as its own process (wall time, items/s, peak RSS, longest batch transaction), reseed
 * and run the raw SQL a DBA would write for the same work, then the memory-flatness runs at one
 * tenth of the size and the mail run against a loopback SMTP server. Then start-up medians. Prints
 * one table and writes bench-results.json. Not part of `npm test`: nothing here asserts a time.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { BenchDatabases, probe, type BenchDatabase, type BenchDbName } from './bench/database.js';
import { cleanupScratch, describeRssMethod, median, runNode, type ProcessResult } from './bench/process.js';
import {
  checkTargets,
  renderTable,
  type DatabaseResult,
  type FlatnessMeasurement,
  type JobMeasurement,
  type JobStatus,
  type MailMeasurement,
  type StartupResult,
} from './bench/report.js';
import { seedAll, seedMailCases, sizesAt, type SeedSizes } from './bench/seed.js';
import { ratioTargets, renderRatioTable } from './bench/ratios.js';
import { startLoopbackSmtp, type LoopbackSmtp } from './bench/smtp.js';
import { measureLightRuns, renderLight, type LightResult } from './bench/light.js';
import { wholeSecond } from './bench/sql.js';
import { cleanup, count, release, WORKLOADS, type Workload } from './bench/workloads.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'ontime');
const JOB_TIMEOUT_MS = 30 * 60_000;
/**
 * Scale 1 is the issue's sizes (1M cases, 200k surveys, 2M responses, 2M progress rows, 10k
 * mails). At the jobs' present speed that takes about 16 minutes for all three databases on a
 * 2-core machine, over the 10-minute budget; 0.4 took about 7.5 minutes (docs/performance.md).
 * `--scale 1` still runs the full sizes.
 */
const DEFAULT_SCALE = 0.4;

interface Options {
  dbs: BenchDbName[];
  scale: number;
  startupRuns: number;
  out: string;
}

function usage(message?: string): never {
  if (message) process.stderr.write(`bench: ${message}\n`);
  process.stderr.write(
    'usage: npm run bench -- [--db sqlite|postgres|mysql|all] [--scale N] [--startup-runs N] [--out FILE]\n' +
      `  --scale 1 = 1M cases, 200k surveys, 2M responses, 2M progress rows, 10k mails (default ${DEFAULT_SCALE})\n`,
  );
  process.exit(64);
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { dbs: ['sqlite', 'postgres', 'mysql'], scale: DEFAULT_SCALE, startupRuns: 15, out: join(root, 'bench-results.json') };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => inline ?? argv[++i] ?? usage(`${flag} needs a value`);
    switch (flag) {
      case '--db': {
        const v = value().toLowerCase();
        if (v === 'all') opts.dbs = ['sqlite', 'postgres', 'mysql'];
        else
          opts.dbs = v.split(',').map((s) => {
            const n = s === 'mariadb' ? 'mysql' : s === 'pg' ? 'postgres' : s;
            if (n !== 'sqlite' && n !== 'postgres' && n !== 'mysql') usage(`--db: unknown database "${s}"`);
            return n;
          });
        break;
      }
      case '--scale': {
        const n = Number(value());
        if (!Number.isFinite(n) || n <= 0 || n > 10) usage('--scale must be a number above 0 (and at most 10)');
        opts.scale = n;
        break;
      }
      case '--startup-runs': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 10) usage('--startup-runs must be an integer of at least 10');
        opts.startupRuns = n;
        break;
      }
      case '--out':
        opts.out = resolve(value());
        break;
      case '--help':
      case '-h':
        usage();
        break;
      default:
        usage(`unknown option ${arg}`);
    }
  }
  return opts;
}

const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

function baseEnv(url: string, smtp: LoopbackSmtp): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NO_COLOR: '1',
    DATABASE_URL: url,
    EMAIL_BACKEND: 'smtp',
    EMAIL_HOST: '127.0.0.1',
    EMAIL_PORT: String(smtp.port),
    DEFAULT_FROM_EMAIL: 'ontime-bench@example.test',
    // Passed through so the mail figure can be taken at other settings than the default (4).
    ...(process.env.ONTIME_SMTP_CONNECTIONS ? { ONTIME_SMTP_CONNECTIONS: process.env.ONTIME_SMTP_CONNECTIONS } : {}),
  };
}

interface JobRun {
  status: JobStatus;
  exitCode: number | null;
  error?: string;
  json: Record<string, any> | null;
  proc: ProcessResult;
}

/** Run one job as its own process and classify the outcome from its exit code and --json object. */
async function runJob(job: string, url: string, now: Date, smtp: LoopbackSmtp): Promise<JobRun> {
  const proc = await runNode([bin, job, '--json', '--now', now.toISOString()], baseEnv(url, smtp), { timeoutMs: JOB_TIMEOUT_MS });
  // --json prints exactly one JSON object on stdout (human lines go to stderr).
  let json: Record<string, any> | null = null;
  try {
    json = proc.stdout.trim() ? JSON.parse(proc.stdout) : null;
  } catch {
    json = null;
  }
  const message = String(json?.error ?? proc.stderr.trim().split('\n').filter(Boolean).pop() ?? '');
  if (proc.code === 0 || proc.code === 1) return { status: proc.code === 0 ? 'ok' : 'failed', exitCode: proc.code, json, proc, error: proc.code === 1 ? message : undefined };
  const status: JobStatus = proc.code === 70 && /not implemented/i.test(message + proc.stderr) ? 'not implemented' : 'failed';
  return { status, exitCode: proc.code, error: message || (proc.signal ? `killed by ${proc.signal}` : `exit ${proc.code}`), json, proc };
}

async function timed<T>(what: string, body: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t = performance.now();
  const value = await body();
  const ms = performance.now() - t;
  log(`${what}: ${(ms / 1000).toFixed(1)} s`);
  return { value, ms };
}

const seedRowCount = (s: SeedSizes) => s.cases + s.surveys + s.responses + s.progress;

/** audit_log rows so far: each side's audit trail is counted, outside the timed part. */
async function auditRows(db: BenchDatabase): Promise<number> {
  return count(db.knex('audit_log'));
}

/**
 * The runner tracks batches run through ctx.eachBatch. A job that changed rows but reports 0 ran
 * its own transactions outside it: that is "not tracked", not "instant".
 */
function longestBatch(run: JobRun, due: number): number | null {
  const ms = run.json?.timing?.longestBatchMs;
  if (typeof ms !== 'number') return null;
  return ms === 0 && due > 0 ? null : ms;
}

async function measureJobs(db: BenchDatabase, now: Date, smtp: LoopbackSmtp): Promise<JobMeasurement[]> {
  const out: JobMeasurement[] = [];
  for (const w of WORKLOADS) {
    const due = await w.due(db.knex, db.dialect, now);
    log(`${db.name} ${w.job}: ${due.toLocaleString('en-US')} due, running ontime`);
    const auditBefore = await auditRows(db);
    const run = await runJob(w.job, db.url, now, smtp);
    const left = run.status === 'ok' ? await w.due(db.knex, db.dialect, now) : null;
    const audited = (await auditRows(db)) - auditBefore;
    const wallMs = run.proc.wallMs;
    log(`${db.name} ${w.job}: ${run.status}${run.error ? ` (${run.error})` : ''} in ${(wallMs / 1000).toFixed(2)} s`);
    out.push({
      job: w.job,
      unit: w.unit,
      status: run.status,
      exitCode: run.exitCode,
      error: run.error,
      due,
      left,
      wallMs,
      jobDurationMs: typeof run.json?.durationMs === 'number' ? run.json.durationMs : null,
      itemsPerSecond: run.status === 'ok' ? (due - (left ?? 0)) / (wallMs / 1000) : null,
      peakRssBytes: run.proc.peakRssBytes,
      longestBatchMs: longestBatch(run, due),
      summary: run.json?.summary,
      auditRows: audited,
      throughputRatio: null,
      throughputRatioInProcess: null,
    });
  }
  return out;
}

async function measureRaw(db: BenchDatabase, now: Date, jobs: JobMeasurement[]): Promise<void> {
  for (const w of WORKLOADS) {
    const auditBefore = await auditRows(db);
    const t = performance.now();
    const items = await w.raw(db.knex, db.dialect, now);
    const ms = performance.now() - t;
    const audited = (await auditRows(db)) - auditBefore;
    log(`${db.name} ${w.job}: raw SQL changed ${items.toLocaleString('en-US')} in ${(ms / 1000).toFixed(2)} s`);
    const m = jobs.find((j) => j.job === w.job)!;
    m.raw = { items, ms, itemsPerSecond: items / (ms / 1000), auditRows: audited };
    if (m.status === 'ok' && m.wallMs > 0) m.throughputRatio = ms / m.wallMs;
    if (m.status === 'ok' && m.jobDurationMs) m.throughputRatioInProcess = ms / m.jobDurationMs;
  }
}

/** The release and cleanup jobs again at one tenth of the main seed; compare peak RSS. */
async function measureFlatness(
  dbs: BenchDatabases,
  name: string,
  now: Date,
  sizes: SeedSizes,
  jobs: JobMeasurement[],
  smtp: LoopbackSmtp,
): Promise<FlatnessMeasurement[]> {
  const small: SeedSizes = {
    cases: Math.max(1, Math.round(sizes.cases / 10)),
    surveys: Math.max(1, Math.round(sizes.surveys / 10)),
    responses: Math.max(1, Math.round(sizes.responses / 10)),
    progress: Math.max(1, Math.round(sizes.progress / 10)),
  };
  const db = await dbs.fresh();
  try {
    await timed(`${name} seed at one tenth`, () => seedAll(db, now, small));
    const result: FlatnessMeasurement[] = [];
    for (const w of [release, cleanup] as Workload[]) {
      const large = jobs.find((j) => j.job === w.job)!;
      const due = await w.due(db.knex, db.dialect, now);
      const run = await runJob(w.job, db.url, now, smtp);
      const ok = run.status === 'ok' && large.status === 'ok';
      const ratio = ok && run.proc.peakRssBytes && large.peakRssBytes ? large.peakRssBytes / run.proc.peakRssBytes : null;
      result.push({
        job: w.job,
        smallRows: due,
        largeRows: large.due,
        smallPeakRssBytes: run.status === 'ok' ? run.proc.peakRssBytes : null,
        largePeakRssBytes: large.status === 'ok' ? large.peakRssBytes : null,
        ratio,
        status: run.status === 'ok' ? large.status : run.status,
      });
    }
    return result;
  } finally {
    await db.knex.destroy().catch(() => undefined);
  }
}

async function measureMail(dbs: BenchDatabases, name: string, now: Date, messages: number, smtp: LoopbackSmtp): Promise<MailMeasurement> {
  const db = await dbs.fresh();
  try {
    await seedMailCases(db, now, messages);
    const before = smtp.received();
    log(`${name} send-scheduled-emails: ${messages.toLocaleString('en-US')} due, running ontime`);
    const run = await runJob('send-scheduled-emails', db.url, now, smtp);
    const received = smtp.received() - before;
    const sent = await count(db.knex('email_outbox').where('status', 'sent'));
    const ok = run.status === 'ok';
    const connections = process.env.ONTIME_SMTP_CONNECTIONS ? `ONTIME_SMTP_CONNECTIONS=${process.env.ONTIME_SMTP_CONNECTIONS}` : '4 (default)';
    const loadAverage = loadavg()[0]!;
    const rate = ok ? `, ${(sent / (run.proc.wallMs / 1000)).toFixed(0)} msgs/s` : '';
    log(`${name} send-scheduled-emails: ${run.status}${run.error ? ` (${run.error})` : ''}, ${sent} sent, in ${(run.proc.wallMs / 1000).toFixed(2)} s${rate} (SMTP connections ${connections}, load average ${loadAverage.toFixed(1)})`);
    return {
      status: run.status === 'not implemented' ? 'not available' : run.status,
      error: run.error,
      due: messages,
      sent,
      smtpReceived: received,
      wallMs: run.proc.wallMs,
      messagesPerSecond: ok ? sent / (run.proc.wallMs / 1000) : null,
      peakRssBytes: run.proc.peakRssBytes,
      connections,
      loadAverage,
    };
  } finally {
    await db.knex.destroy().catch(() => undefined);
  }
}

async function benchDatabase(name: BenchDbName, opts: Options, now: Date, smtp: LoopbackSmtp): Promise<DatabaseResult> {
  const problem = await probe(name);
  if (problem) {
    log(`${name}: not available (${problem})`);
    return { name, available: false, unavailableReason: problem, jobs: [], flatness: [] };
  }
  const started = performance.now();
  const sizes = sizesAt(opts.scale);
  const dbs = new BenchDatabases(name);
  let current: BenchDatabase | undefined;
  try {
    // 1. ontime on a fresh seed.
    current = await dbs.fresh();
    const version = current.version;
    const seed = await timed(`${name} seed ${seedRowCount(sizes).toLocaleString('en-US')} rows`, () => seedAll(current!, now, sizes));
    const jobs = await measureJobs(current, now, smtp);
    await current.knex.destroy();
    // 2. The raw baseline on an identical seed.
    current = await dbs.fresh();
    await timed(`${name} reseed for the raw baseline`, () => seedAll(current!, now, sizes));
    await measureRaw(current, now, jobs);
    await current.knex.destroy();
    current = undefined;
    // 3. Memory flatness, 4. mail.
    const flatness = await measureFlatness(dbs, name, now, sizes, jobs, smtp);
    const mail = await measureMail(dbs, name, now, Math.max(1, Math.round(10_000 * opts.scale)), smtp);
    return { name, version, available: true, seedMs: seed.ms, seedRows: seedRowCount(sizes), jobs, flatness, mail, totalMs: performance.now() - started };
  } finally {
    await dbs.drop(current);
  }
}

/** Light runs (scripts/bench/light.ts): each job with nothing due, then with up to 1,000 due. */
async function benchLight(name: BenchDbName, now: Date, smtp: LoopbackSmtp): Promise<LightResult> {
  const dbs = new BenchDatabases(name);
  try {
    log(`${name} light runs`);
    return await measureLightRuns(dbs, now, async (job, url) => {
      const run = await runJob(job, url, now, smtp);
      return { ok: run.status === 'ok', peakRssBytes: run.proc.peakRssBytes, error: run.error };
    });
  } finally {
    await dbs.drop();
  }
}

/** Start-up medians: node alone, `ontime --help`, and a job with nothing to do on SQLite. */
async function benchStartup(runs: number, smtp: LoopbackSmtp): Promise<StartupResult> {
  const dbs = new BenchDatabases('sqlite');
  const db = await dbs.fresh();
  await db.knex.destroy();
  const idleJob = 'cleanup-survey-progress';
  const env = baseEnv(db.url, smtp);
  const node: number[] = [];
  const help: number[] = [];
  const idle: number[] = [];
  try {
    // Warm the file cache once, then interleave so drift hits all three alike.
    await runNode(['-e', '0'], env, { measureRss: false });
    await runNode([bin, '--help'], env, { measureRss: false });
    for (let i = 0; i < runs; i++) {
      node.push((await runNode(['-e', '0'], env, { measureRss: false })).wallMs);
      help.push((await runNode([bin, '--help'], env, { measureRss: false })).wallMs);
      const r = await runNode([bin, idleJob], env, { measureRss: false });
      if (r.code !== 0) throw new Error(`${idleJob} on an empty SQLite database exited ${r.code}: ${r.stderr.trim()}`);
      idle.push(r.wallMs);
    }
  } finally {
    await dbs.drop();
  }
  const nodeMedianMs = median(node);
  const helpMedianMs = median(help);
  return { runs, nodeMedianMs, helpMedianMs, helpRatio: helpMedianMs / nodeMedianMs, idleJob, idleJobMedianMs: median(idle) };
}

/** The checkout's commit (and whether it had local changes), so figures can be tied to code. */
function gitCommit(): string | null {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' });
  if (head.status !== 0) return null;
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' });
  return head.stdout.trim() + (dirty.stdout.trim() ? ' (with local changes)' : '');
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(join(root, 'dist', 'cli.js'))) {
    process.stderr.write('bench: ontime is not built; run `npm run build` (npm run bench does it for you)\n');
    return 78;
  }
  const command = `npm run bench -- --db ${opts.dbs.length === 3 ? 'all' : opts.dbs.join(',')} --scale ${opts.scale}`;
  // A whole second, one second back: `--now` must not be later than the children's clock.
  const now = wholeSecond(new Date(Date.now() - 1000));
  const started = performance.now();
  log(`${command}: sizes ${JSON.stringify(sizesAt(opts.scale))}, evaluated at ${now.toISOString()}, peak RSS by ${describeRssMethod()}`);
  const smtp = await startLoopbackSmtp();
  const results: DatabaseResult[] = [];
  const light: LightResult[] = [];
  let startup: StartupResult | null = null;
  try {
    for (const name of opts.dbs) {
      try {
        results.push(await benchDatabase(name, opts, now, smtp));
        if (results[results.length - 1]!.available) light.push(await benchLight(name, now, smtp));
      } catch (err) {
        log(`${name}: benchmark failed: ${(err as Error).stack ?? err}`);
        results.push({ name, available: false, unavailableReason: `benchmark failed: ${(err as Error).message}`, jobs: [], flatness: [] });
      }
    }
    log('start-up medians');
    startup = await benchStartup(opts.startupRuns, smtp);
  } finally {
    await smtp.close();
    cleanupScratch();
  }
  const targets = [...checkTargets(results, startup, opts.scale), ...ratioTargets(results, opts.scale)];
  const report = {
    command,
    commit: gitCommit(),
    at: new Date().toISOString(),
    evaluatedAt: now.toISOString(),
    scale: opts.scale,
    sizes: sizesAt(opts.scale),
    mailMessages: Math.max(1, Math.round(10_000 * opts.scale)),
    batchSize: 1000,
    peakRssMethod: describeRssMethod(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryBytes: totalmem(),
      freeMemoryBytes: freemem(),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
    },
    totalMs: performance.now() - started,
    databases: results,
    startup,
    targets,
    light,
  };
  writeFileSync(opts.out, JSON.stringify(report, null, 2) + '\n');
  process.stdout.write('\n' + renderTable(results, startup, targets) + '\n');
  if (light.length) process.stdout.write('\n' + renderLight(light) + '\n');
  process.stdout.write('\n' + renderRatioTable(results) + '\n');
  process.stdout.write(
    `\n${command} at ${report.commit ?? 'unknown commit'}: ${(report.totalMs / 1000).toFixed(0)} s on ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}; ` +
      `${results.map((r) => `${r.name} ${r.version ?? '(not available)'}`).join(', ')}\nwrote ${opts.out}\n`,
  );
  return results.some((r) => !r.available && r.unavailableReason?.startsWith('benchmark failed')) ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 70;
  },
);
