/**
 * Run safety with real processes of the built binary (`npm run build` first): exclusion among
 * many processes started together, kill -9 of the holder, fencing of a paused holder, SIGTERM.
 * Uses the test seams of test/helpers/preload-hooks.mjs, set by ONTIME_TEST_GO_FILE (start barrier)
 * and ONTIME_TEST_BATCH_DELAY_MS (slow batches).
 *
 * ONTIME_TEST_EXCLUSION_ROUNDS (default 3) and ONTIME_TEST_EXCLUSION_PROCESSES (default 16) size
 * the exclusion test; the acceptance run is 16 processes x 50 rounds.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, test } from 'node:test';
import { emptyCwd, spawnCli, testEnv, withTestHooks } from '../helpers/cli.js';
import { forEachDatabase, requestedDatabases } from '../helpers/databases.js';
import { deletedByRun, JOB, progressCount, runRows, seedProgress, sleep } from '../helpers/run-safety.js';

const ROUNDS = Number(process.env.ONTIME_TEST_EXCLUSION_ROUNDS ?? 3);
const PROCESSES = Number(process.env.ONTIME_TEST_EXCLUSION_PROCESSES ?? 16);

interface Running {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once `pattern` has appeared `count` times on stderr. */
  waitFor(pattern: RegExp, count?: number, timeoutMs?: number): Promise<void>;
}

function start(args: string[], env: Record<string, string>): Running {
  const child = spawn(process.execPath, withTestHooks(args), { env: testEnv(env), cwd: emptyCwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const r: Running = {
    child,
    stdout: '',
    stderr: '',
    done: new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal }))),
    async waitFor(pattern, count = 1, timeoutMs = 30_000) {
      const global = new RegExp(pattern.source, 'g');
      const until = Date.now() + timeoutMs;
      while ((r.stderr.match(global)?.length ?? 0) < count) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`process ended before ${pattern}: ${r.stderr}`);
        if (Date.now() > until) throw new Error(`timed out waiting for ${pattern}: ${r.stderr}`);
        await sleep(10);
      }
    },
  };
  child.stdout!.on('data', (d) => (r.stdout += d));
  child.stderr!.on('data', (d) => (r.stderr += d));
  return r;
}

const HOOK = /test hook: waiting \d+ms before the next batch/;

forEachDatabase('run safety with processes', (db) => {
  const modes = (name: string) => (name === 'sqlite' ? ['table'] : ['auto', 'table']);
  beforeEach(async () => db().reset());

  // Declared for every mode; a mode that does not apply to this database returns at once.
  for (const mode of ['auto', 'table'] as const) {
    const applies = () => modes(db().name).includes(mode);
    const env = (extra: Record<string, string> = {}) => ({ DATABASE_URL: db().url, ONTIME_LOCK: mode, ...extra });

    test(`exclusion: ${PROCESSES} processes x ${ROUNDS} rounds, exactly one does the work [ONTIME_LOCK=${mode}${mode === "auto" ? ", advisory; SQLite has none" : ""}]`, async () => {
      if (!applies()) return; // SQLite always uses leases: covered by the table mode
      const { knex, dialect } = db();
      const dir = mkdtempSync(join(tmpdir(), 'ontime-go-'));
      const WORK = 9;
      for (let round = 1; round <= ROUNDS; round++) {
        await db().reset();
        await seedProgress(knex, dialect, WORK, 2);
        const go = join(dir, `go-${round}`);
        const procs = Array.from({ length: PROCESSES }, () =>
          start([JOB, '--batch-size', '3'], env({ ONTIME_TEST_GO_FILE: go, ONTIME_TEST_BATCH_DELAY_MS: '300' })),
        );
        try {
          await Promise.all(procs.map((p) => p.waitFor(/test hook: waiting for/, 1, 60_000)));
        } catch (err) {
          // Those still waiting for the go file would wait forever.
          for (const p of procs) p.child.kill('SIGKILL');
          throw err;
        }
        writeFileSync(go, 'go');
        const results = await Promise.all(procs.map((p) => p.done));
        assert.deepEqual(results.map((r) => r.code), procs.map(() => 0), `round ${round}: ${procs.map((p) => p.stderr).join('\n')}`);
        const rows = await runRows(knex);
        assert.equal(rows.length, PROCESSES, `round ${round}: one row per process`);
        const workers = rows.filter((r) => r.status === 'succeeded');
        assert.equal(workers.length, 1, `round ${round}: exactly one run did the work`);
        assert.equal(workers[0]!.summary.deleted, WORK);
        assert.equal(await deletedByRun(knex, workers[0]!.id), WORK);
        const skipped = rows.filter((r) => r.status === 'skipped');
        assert.equal(skipped.length, PROCESSES - 1);
        for (const s of skipped) {
          assert.equal(s.exit_code, 0);
          assert.equal(s.summary.reason, 'lock held');
          assert.match(s.summary.holder, /pid \d+|connection \d+/, 'the skipped row names the holder');
        }
        assert.equal(await progressCount(knex), 2);
        assert.equal(Number((await knex('job_locks').count({ n: '*' }).first())?.n), 0);
      }
    });

    test(`crash: kill -9 of the holder, then the next run recovers [ONTIME_LOCK=${mode}${mode === "auto" ? ", advisory; SQLite has none" : ""}]`, async () => {
      if (!applies()) return;
      const { knex, dialect } = db();
      await seedProgress(knex, dialect, 30, 2);
      const advisory = mode === 'auto' && db().name !== 'sqlite';
      // A short time limit makes the lease short (2s + 2s margin).
      const holder = start([JOB, '--batch-size', '1', '--timeout', '2s'], env({ ONTIME_TEST_BATCH_DELAY_MS: '200' }));
      await holder.waitFor(HOOK, 3);
      holder.child.kill('SIGKILL');
      await holder.done;
      const [dead] = await runRows(knex);
      assert.equal(dead!.status, 'running');

      let next = await spawnCli([JOB], env());
      assert.equal(next.code, 0, next.stderr);
      let attempts = 1;
      if (advisory) {
        assert.doesNotMatch(next.stdout, /already running/, 'the database freed the advisory lock at once');
      } else {
        assert.match(next.stdout, new RegExp(`already running \\(lock held by .*pid ${holder.child.pid}`));
        const deadline = Date.now() + 20_000;
        while (/already running/.test(next.stdout)) {
          assert.ok(Date.now() < deadline, 'the lease expired in time');
          await sleep(500);
          next = await spawnCli([JOB], env());
          assert.equal(next.code, 0, next.stderr);
          attempts++;
        }
        assert.ok(attempts > 1);
      }
      const rows = await runRows(knex);
      assert.equal(rows[0]!.status, 'abandoned');
      assert.equal(rows.at(-1)!.status, 'succeeded');
      assert.equal(await progressCount(knex), 2, 'exactly what one complete run leaves');
      assert.equal((await deletedByRun(knex, rows[0]!.id)) + (await deletedByRun(knex, rows.at(-1)!.id)), 30);
    });

    // Leases only: an advisory lock cannot expire under a live session.
    if (mode === 'table') test(`fencing: a holder paused past its lease changes nothing more and exits 75 [ONTIME_LOCK=${mode}]`, async () => {
      const { knex, dialect } = db();
      await seedProgress(knex, dialect, 30, 2);
      const first = start([JOB, '--batch-size', '1', '--timeout', '2s'], env({ ONTIME_TEST_BATCH_DELAY_MS: '250' }));
      await first.waitFor(HOOK, 2);
      first.child.kill('SIGSTOP');
      try {
        await sleep(300);
        const [firstRun] = await runRows(knex);
        const doneBefore = await deletedByRun(knex, firstRun!.id);
        // The second run is skipped until the lease (2s + 2s margin) has expired, then takes over.
        let second = await spawnCli([JOB], env());
        const deadline = Date.now() + 20_000;
        while (/already running/.test(second.stdout)) {
          assert.ok(Date.now() < deadline, 'the lease expired in time');
          await sleep(500);
          second = await spawnCli([JOB], env());
        }
        assert.equal(second.code, 0, second.stderr);
        assert.match(second.stderr, /took over the expired lock/);
        first.child.kill('SIGCONT');
        const ended = await first.done;
        assert.equal(ended.code, 75, first.stderr);
        assert.match(first.stderr, /no longer ours/);
        assert.equal(await deletedByRun(knex, firstRun!.id), doneBefore, 'not one row more after resuming');
        const rows = await runRows(knex);
        assert.equal(rows[0]!.status, 'interrupted');
        assert.equal(rows[0]!.exit_code, 75);
        assert.equal(rows.at(-1)!.status, 'succeeded');
        assert.equal(await progressCount(knex), 2);
        assert.equal(Number((await knex('job_locks').count({ n: '*' }).first())?.n), 0, "the second run's release; the first freed nothing");
      } finally {
        first.child.kill('SIGCONT');
        first.child.kill('SIGKILL');
      }
    });
  }

  test('SIGTERM mid-run: 143, interrupted, whole batches committed, lock free; a second signal stops at once', async () => {
    const { knex, dialect } = db();
    await seedProgress(knex, dialect, 20, 0);
    const env = { DATABASE_URL: db().url, ONTIME_TEST_BATCH_DELAY_MS: '300' };
    const run = start([JOB, '--batch-size', '2'], env);
    await run.waitFor(HOOK, 3);
    run.child.kill('SIGTERM');
    const ended = await run.done;
    assert.equal(ended.code, 143, run.stderr);
    assert.match(run.stderr, /received SIGTERM: finishing the current batch/);
    assert.match(run.stderr, /stopped by SIGTERM/);
    const [row] = await runRows(knex);
    assert.equal(row!.status, 'interrupted');
    assert.equal(row!.exit_code, 143);
    assert.equal(row!.summary.stoppedBy, 'SIGTERM');
    const deleted = 20 - (await progressCount(knex));
    assert.ok(deleted >= 2 && deleted % 2 === 0, `whole batches only (${deleted})`);
    assert.equal(await deletedByRun(knex, row!.id), deleted, 'every committed delete has its audit row');
    assert.equal(row!.summary.itemsDone, deleted);

    const next = await spawnCli([JOB], { DATABASE_URL: db().url });
    assert.equal(next.code, 0, next.stderr);
    assert.doesNotMatch(next.stdout, /already running/, 'the lock was released');
    assert.equal(await progressCount(knex), 0);

    await seedProgress(knex, dialect, 4, 0);
    const stubborn = start([JOB, '--batch-size', '1'], { ...env, ONTIME_TEST_BATCH_DELAY_MS: '3000' });
    await stubborn.waitFor(HOOK, 1);
    stubborn.child.kill('SIGTERM');
    await stubborn.waitFor(/received SIGTERM/);
    stubborn.child.kill('SIGTERM');
    const killed = await stubborn.done;
    assert.equal(killed.signal, 'SIGTERM', 'the second signal ends the process at once');
  });
});

// Guard against an empty matrix silently passing.
test('the process tests ran on at least one database', () => {
  assert.ok(requestedDatabases().length > 0);
});
