/**
 * Faults of the database service under a real process (the built binary), PostgreSQL and
 * MariaDB: the connection holding the advisory lock is terminated mid-run
 * (pg_terminate_backend / KILL), and then every connection of the job. The run stops with 75 and
 * one line saying what happened, only whole batches are committed, the row ends `interrupted`, and
 * the next run converges. Uses the test hook ONTIME_TEST_BATCH_DELAY_MS to be mid-run.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { beforeEach, test } from 'node:test';
import type { Knex } from 'knex';
import { binPath, emptyCwd, spawnCli, testEnv } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { deletedByRun, JOB, progressCount, runRows, seedProgress, sleep } from '../helpers/run-safety.js';
import { serverLockName } from '../../src/db/locks.js';

const HOOK = /test hook: waiting \d+ms before the next batch/g;

function startRun(url: string) {
  const child = spawn(process.execPath, [binPath, JOB, '--batch-size', '2'], {
    env: testEnv({ DATABASE_URL: url, ONTIME_TEST_BATCH_DELAY_MS: '250' }), cwd: emptyCwd, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const r = { child, stdout: '', stderr: '', done: new Promise<number | null>((res) => child.on('close', (c) => res(c))) };
  child.stdout.on('data', (d) => (r.stdout += d));
  child.stderr.on('data', (d) => (r.stderr += d));
  return r;
}

async function waitForHooks(r: ReturnType<typeof startRun>, n: number): Promise<void> {
  const until = Date.now() + 30_000;
  while ((r.stderr.match(HOOK)?.length ?? 0) < n) {
    assert.equal(r.child.exitCode, null, `ended early: ${r.stderr}`);
    assert.ok(Date.now() < until, `timed out: ${r.stderr}`);
    await sleep(10);
  }
}

/** Terminate the session holding the job's advisory lock; returns how many were ended. */
async function killLockSession(knex: Knex, name: string, pid: number): Promise<number> {
  if (name === 'postgres') {
    const r = await knex.raw(`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name LIKE ?`, [`ontime % pid ${pid} #%`]);
    return r.rows.length;
  }
  const [[row]] = await knex.raw('SELECT IS_USED_LOCK(?) AS id', [serverLockName(knex, JOB)]);
  if (!row?.id) return 0;
  await knex.raw(`KILL ${Number(row.id)}`);
  return 1;
}

/** Terminate every session of this database opened since `sinceId` / `since` except the asking one. */
async function killJobSessions(knex: Knex, name: string, database: string, mark: { since: Date; maxId: number }): Promise<number> {
  if (name === 'postgres') {
    const r = await knex.raw(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid() AND backend_start >= ?`,
      [database, mark.since],
    );
    return r.rows.length;
  }
  const [rows] = await knex.raw('SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID() AND ID > ?', [database, mark.maxId]);
  for (const row of rows) await knex.raw(`KILL ${Number(row.ID)}`).catch(() => undefined);
  return rows.length;
}

async function markNow(knex: Knex, name: string): Promise<{ since: Date; maxId: number }> {
  if (name === 'postgres') return { since: (await knex.raw('SELECT now() AS now')).rows[0].now, maxId: 0 };
  const [[row]] = await knex.raw('SELECT MAX(ID) AS id FROM information_schema.PROCESSLIST');
  return { since: new Date(), maxId: Number(row.id) };
}

forEachDatabase('database service faults under a real process', (db) => {
  beforeEach(async () => db().reset());
  const database = () => new URL(db().url).pathname.slice(1);

  for (const what of ['the lock connection', 'every connection of the job'] as const) {
    test(`${what} killed mid-run: 75, one line saying so, whole batches, interrupted, rerun converges`, async () => {
      if (db().name === 'sqlite') return; // no server to lose
      const { knex, dialect, name } = db();
      await seedProgress(knex, dialect, 40, 2);
      const mark = await markNow(knex, name);
      const run = startRun(db().url);
      await waitForHooks(run, 3);
      const killed = what === 'the lock connection' ? await killLockSession(knex, name, run.child.pid!) : await killJobSessions(knex, name, database(), mark);
      assert.ok(killed >= 1, 'a session was found and ended');
      const code = await run.done;
      assert.equal(code, 75, `${run.stdout}\n${run.stderr}`);
      const errors = run.stderr.split('\n').filter((l) => l.startsWith('error:'));
      assert.equal(errors.length, 1, run.stderr);
      if (what === 'the lock connection') assert.match(errors[0]!, /the database connection holding the lock of cleanup-survey-progress was lost \(.+\); stopped before the next batch/);
      else assert.match(errors[0]!, /was lost|cannot reach the database/);
      assert.doesNotMatch(run.stderr, /internal error|^\s+at /m, 'no bug report, no stack trace');

      const [row] = await runRows(knex);
      assert.ok(['interrupted', 'failed'].includes(row!.status), row!.status);
      assert.equal(row!.exit_code, 75);
      const deleted = 42 - (await progressCount(knex)); // 40 expired + 2 fresh seeded
      assert.equal(deleted % 2, 0, `whole batches only (${deleted})`);
      assert.equal(await deletedByRun(knex, row!.id), deleted, 'every committed delete has its audit row');

      const next = await spawnCli([JOB], { DATABASE_URL: db().url });
      assert.equal(next.code, 0, next.stderr);
      assert.doesNotMatch(next.stdout, /already running/, 'the lock went with the session');
      assert.equal(await progressCount(knex), 2, 'converged: what one clean run leaves');
    });
  }
});
