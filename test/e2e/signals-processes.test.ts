/**
 * SIGTERM / SIGINT to a real process in the middle of a long run, without the batch-delay test
 * hook (whose timer would itself give the event loop a turn and hide a run that never yields, as
 * a synchronous SQLite driver does): the run stops after the current batch with 143 / 130,
 * `interrupted`, whole batches only, and the next run finishes the work.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { beforeEach, test } from 'node:test';
import { binPath, emptyCwd, spawnCli, testEnv } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { DAY, insertMany, insertSurvey, progressRow } from '../helpers/fixtures.js';
import { deletedByRun, JOB, progressCount, runRows, sleep } from '../helpers/run-safety.js';

const ROWS = 60_000;
const BATCH = 7;

forEachDatabase('signals to a long run', (db) => {
  beforeEach(async () => db().reset());

  for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
    test(`${signal} mid-run at batch size ${BATCH} over ${ROWS} rows: ${code}, interrupted, whole batches, next run finishes`, async () => {
      const { knex, dialect } = db();
      const survey = await insertSurvey(knex, dialect);
      const past = new Date(Date.now() - DAY);
      const rows = Array.from({ length: ROWS }, (_, i) => progressRow(dialect, { survey_id: survey, session_key: `s${i}`, expires_at: past }));
      await insertMany(knex, 'survey_progress', rows, dialect === 'sqlite' ? 100 : 1000);

      const child = spawn(process.execPath, [binPath, JOB, '--batch-size', String(BATCH)], {
        env: testEnv({ DATABASE_URL: db().url }), cwd: emptyCwd, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const done = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      // Wait until some batches are committed, then signal while most of the work is still ahead.
      for (;;) {
        assert.equal(child.exitCode, null, `the run ended before it could be signalled: ${stdout}${stderr}`);
        if ((await progressCount(knex)) <= ROWS - 10 * BATCH) break;
        await sleep(20);
      }
      child.kill(signal);
      const exit = await done;
      assert.equal(exit, code, `${stdout}\n${stderr}`);
      assert.match(stderr, new RegExp(`received ${signal}: finishing the current batch`));
      assert.match(stderr, new RegExp(`stopped by ${signal}`));
      assert.doesNotMatch(stdout, /Completed|deleted 60,000/i, 'no completion line: the run did not finish');
      const [row] = await runRows(knex);
      assert.equal(row!.status, 'interrupted');
      assert.equal(row!.exit_code, code);
      assert.equal(row!.summary.stoppedBy, signal);
      const deleted = ROWS - (await progressCount(knex));
      assert.ok(deleted > 0 && deleted < ROWS, `stopped mid-run (${deleted} of ${ROWS} deleted)`);
      assert.equal(deleted % BATCH, 0, `whole batches only (${deleted})`);
      assert.equal(row!.summary.itemsDone, deleted);
      assert.equal(await deletedByRun(knex, row!.id), deleted, 'every committed delete has its audit row');

      const next = await spawnCli([JOB, '--batch-size', '1000'], { DATABASE_URL: db().url }, { timeoutMs: 300_000 });
      assert.equal(next.code, 0, next.stderr);
      assert.equal(await progressCount(knex), 0);
      const after = await runRows(knex);
      assert.equal(after.at(-1)!.status, 'succeeded');
      assert.equal(await deletedByRun(knex, after.at(-1)!.id), ROWS - deleted);
    });
  }
});
