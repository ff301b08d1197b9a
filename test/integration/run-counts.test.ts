/** `jobs` with the runs, failures and success rate of the last 30 days; `history --status`. */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { insertRun } from '../helpers/runs.js';

const NOW = new Date('2026-11-20T12:00:00Z');
const DAY = 86_400_000;
const CLEANUP = 'cleanup-survey-progress';

forEachDatabase('run counts and history --status', (db) => {
  const env = () => ({ DATABASE_URL: db().url });
  beforeEach(async () => {
    await db().reset();
    const { knex, dialect } = db();
    const run = (daysAgo: number, status: string, job = CLEANUP) =>
      insertRun(knex, dialect, { job, startedAt: new Date(NOW.getTime() - daysAgo * DAY), finishedAt: new Date(NOW.getTime() - daysAgo * DAY + 5000), status, exitCode: status === 'succeeded' ? 0 : 1 });
    for (const [daysAgo, status] of [[1, 'succeeded'], [2, 'succeeded'], [3, 'failed'], [4, 'succeeded'], [5, 'skipped'], [6, 'interrupted'], [29, 'partial'], [31, 'failed'], [40, 'failed']] as const) {
      await run(daysAgo, status);
    }
    await run(2, 'failed', 'release-scheduled-cases');
  });

  test('jobs counts the last 30 days: runs (not skipped), failures, success rate', async () => {
    const r = await runCli(['jobs', '--json', '--now', NOW.toISOString()], env());
    assert.equal(r.code, 0, r.stderr);
    const byJob = Object.fromEntries(JSON.parse(r.stdout).jobs.map((j: { job: string; last30Days: unknown }) => [j.job, j.last30Days]));
    // 6 runs within 30 days besides the skipped one: 3 succeeded, failed + interrupted + partial.
    assert.deepEqual(byJob[CLEANUP], { runs: 6, failures: 3, successRate: 0.5 });
    assert.deepEqual(byJob['release-scheduled-cases'], { runs: 1, failures: 1, successRate: 0 });
    assert.deepEqual(byJob['weekly-paid-update'], { runs: 0, failures: 0, successRate: null });
    const text = await runCli(['jobs', '--now', NOW.toISOString()], env());
    assert.match(text.stdout, /LAST 30 DAYS/);
    assert.match(text.stdout, new RegExp(`^${CLEANUP} .* 6 runs, 3 failures, 50% ok$`, 'm'));
    assert.match(text.stdout, /^weekly-paid-update .* never +no runs$/m);
  });

  test('history --status shows only runs that ended so; an unknown status is a usage error', async () => {
    const r = await runCli(['history', CLEANUP, '--status', 'failed', '--json'], env());
    assert.equal(r.code, 0, r.stderr);
    const runs = JSON.parse(r.stdout).runs as Array<{ status: string; job: string }>;
    assert.equal(runs.length, 3);
    assert.ok(runs.every((x) => x.status === 'failed' && x.job === CLEANUP));
    const all = JSON.parse((await runCli(['history', '--status', 'failed', '--json'], env())).stdout).runs;
    assert.equal(all.length, 4);
    const none = await runCli(['history', CLEANUP, '--status', 'abandoned'], env());
    assert.equal(none.stdout, `No abandoned runs of ${CLEANUP} recorded yet.\n`);
    const bad = await runCli(['history', '--status', 'broken'], env());
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /--status must be one of running, succeeded, partial, failed, skipped, interrupted, abandoned/);
  });
});
