/**
 * The crash matrix: for each job below, on every database, a clean run of the built binary over a
 * seeded world gives the reference end state; then, per seed, the same world is seeded again, a
 * run is killed with SIGKILL at a moment drawn from the seed, and the job is run again. The end
 * state must equal the reference (same rows changed, each history, audit and warning row once per
 * change), every mail must have been delivered, at most one message more than once (the bound of
 * jobs.md with one SMTP connection) and then with the same Message-ID, and the killed run's row
 * must end `abandoned`.
 *
 * ONTIME_TEST_CRASH_SEEDS: seeds per job (default 2; the acceptance run is 10).
 * ONTIME_TEST_CRASH_SEED: the first seed (default drawn from the clock and printed in each test's
 * name); `ONTIME_TEST_CRASH_SEED=<n> ONTIME_TEST_CRASH_SEEDS=1` replays one.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, beforeEach, test } from 'node:test';
import { binPath, emptyCwd, runCli, testEnv } from '../helpers/cli.js';
import { seededRandom as random, seedWorld, worldState } from '../helpers/crash-world.js';
import { forEachDatabase } from '../helpers/databases.js';
import { runRows } from '../helpers/run-safety.js';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp.js';

const JOBS = ['release-scheduled-cases', 'weekly-pending-payment-update', 'send-scheduled-emails', 'process-data-governance', 'cleanup-survey-progress'];
const SEEDS = Number(process.env.ONTIME_TEST_CRASH_SEEDS ?? 2);
const FIRST_SEED = Number(process.env.ONTIME_TEST_CRASH_SEED ?? (Date.now() % 100_000));
const NOW = new Date('2026-03-02T08:30:00Z');
const SCALE = 20;
/** Small batches and a short pause before each, so that a kill lands in the middle of the work. */
const RUN_ARGS = ['--now', NOW.toISOString(), '--batch-size', '3'];
const RUN_ENV = { ONTIME_TEST_BATCH_DELAY_MS: '15', ONTIME_SMTP_CONNECTIONS: '1' };
/** Delivery repeats a crash may cause with one SMTP connection (jobs.md). */
const MAIL_REPEAT_BOUND = 1;

function startJob(job: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [binPath, job, ...RUN_ARGS], { env: testEnv({ ...env, ...RUN_ENV }), cwd: emptyCwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  /** When the first batch was about to start (the batch-delay hook's first line): the work began. */
  let workStarted = 0;
  child.stderr.on('data', (d) => {
    stderr += d;
    if (!workStarted && /test hook: waiting \d+ms before the next batch/.test(stderr)) workStarted = Date.now();
  });
  child.stdout.resume();
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('close', (code, signal) => res({ code, signal })));
  return { child, done, stderr: () => stderr, workStarted: () => workStarted };
}

forEachDatabase('crash matrix: SIGKILL at a random moment, then a rerun', (db) => {
  let smtp: TestSmtpServer;
  before(async () => {
    smtp = await startSmtpServer();
  });
  after(async () => smtp.close());
  beforeEach(async () => {
    await db().reset();
    smtp.messages.length = 0;
  });
  const env = () => ({ DATABASE_URL: db().url, SITE_URL: 'https://cases.example.org', DEFAULT_FROM_EMAIL: 'ontime@example.test', ...smtp.env() });
  const mailKey = (m: { to: string[]; subject?: string }) => `${m.to.join(',')} ${m.subject}`;

  for (const job of JOBS) {
    test(`${job}: seeds ${FIRST_SEED}..${FIRST_SEED + SEEDS - 1}, killed and rerun, ends as one clean run`, async (t) => {
      const { knex, dialect } = db();
      // The reference: one clean run, timed to know the span in which to kill.
      let world = await seedWorld(knex, dialect, NOW, SCALE);
      const clean = startJob(job, env());
      const cleanEnd = await clean.done;
      assert.equal(cleanEnd.code, 0, clean.stderr());
      assert.ok(clean.workStarted() > 0, 'the clean run had batches');
      // The span of the work itself (first batch to exit), not the process start-up before it.
      const span = Date.now() - clean.workStarted();
      const reference = await worldState(knex, world);
      const referenceMail = smtp.messages.map(mailKey).sort();

      for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
        const replay = `replay: ONTIME_TEST_CRASH_SEED=${seed} ONTIME_TEST_CRASH_SEEDS=1 (${job}, ${db().name})`;
        await db().reset();
        smtp.messages.length = 0;
        world = await seedWorld(knex, dialect, NOW, SCALE);
        // Seeds mixed first: adjacent seeds would otherwise draw nearly the same first number.
        const killAfter = Math.floor(random(Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1))() * span);
        const victim = startJob(job, env());
        const until = Date.now() + 120_000;
        while (!victim.workStarted() && victim.child.exitCode === null && Date.now() < until) await new Promise((res) => setTimeout(res, 5));
        await new Promise((res) => setTimeout(res, killAfter));
        victim.child.kill('SIGKILL');
        const ended = await victim.done;
        const killed = ended.signal === 'SIGKILL';
        // A lease (SQLite) outlives a killed holder until it expires; its holder is known dead.
        if (killed && dialect === 'sqlite') await runCli(['locks', '--release', job, '--yes'], env());

        const rerun = await runCli([job, ...RUN_ARGS.filter((a) => a !== '--batch-size' && a !== '3')], env());
        assert.equal(rerun.code, 0, `${replay}\n${rerun.stdout}${rerun.stderr}`);
        assert.doesNotMatch(rerun.stdout, /already running/, replay);

        assert.deepEqual(await worldState(knex, world), reference, `end state differs from one clean run; ${replay} (killed after ${killAfter} ms)`);
        const runs = await runRows(knex, job);
        const victimRow = runs.find((r) => r.pid === victim.child.pid);
        // Killed mid-run: abandoned. A kill that came after the row was finished (while the
        // process was closing) leaves the run's own, finished status.
        if (killed && victimRow) assert.ok(['abandoned', 'succeeded'].includes(victimRow.status) && (victimRow.status === 'abandoned' || victimRow.finished_at !== null), `the killed run is ${victimRow.status}; ${replay}`);
        if (killed && victimRow?.status === 'succeeded') assert.equal(runs.length, 2, replay);
        t.diagnostic(`seed ${seed}: SIGKILL ${killAfter} ms into ~${span} ms of work; ${killed ? `killed run ${victimRow?.status ?? 'had no row yet'}` : 'had already exited'}; ${smtp.messages.length} deliveries`);
        assert.equal(runs.at(-1)!.status, 'succeeded', replay);

        const delivered = new Map<string, Set<string>>();
        const counts = new Map<string, number>();
        for (const m of smtp.messages) {
          const key = mailKey(m);
          counts.set(key, (counts.get(key) ?? 0) + 1);
          delivered.set(key, (delivered.get(key) ?? new Set()).add(m.messageId ?? ''));
        }
        assert.deepEqual([...counts.keys()].sort(), [...new Set(referenceMail)].sort(), `every mail of a clean run was delivered; ${replay}`);
        const repeats = [...counts.values()].reduce((sum, n) => sum + n - 1, 0);
        assert.ok(repeats <= MAIL_REPEAT_BOUND, `${repeats} repeated deliveries (bound ${MAIL_REPEAT_BOUND}); ${replay}`);
        for (const [key, ids] of delivered) assert.equal(ids.size, 1, `a repeated delivery keeps its Message-ID (${key}); ${replay}`);
      }
    });
  }
});
