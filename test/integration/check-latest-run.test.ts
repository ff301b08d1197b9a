/**
 * check and why judge a job by its most recent finished run (a failure after a success stays
 * CRITICAL until a later run succeeds) while still naming the slot; and lock-held skips in a row
 * warn, or go CRITICAL when the holder is gone or stuck.
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { instant } from '../helpers/fixtures.js';
import { insertRun, onlyEnable } from '../helpers/runs.js';

const CLEANUP = 'cleanup-survey-progress'; // 0 3 * * *, time limit 30 min
const SLOT = new Date('2027-01-06T03:00:00Z');
const MIN = 60_000;
const after = (ms: number) => new Date(SLOT.getTime() + ms);

forEachDatabase('check judges the most recent finished run', (db) => {
  const env = () => ({ DATABASE_URL: db().url });
  beforeEach(async () => {
    await db().reset();
    await onlyEnable(db().knex, [CLEANUP]);
  });
  const check = (now: Date) => runCli(['check', '--now', now.toISOString()], env());
  const why = (now: Date) => runCli(['why', CLEANUP, '--now', now.toISOString()], env());
  const run = (startMin: number, status: string, exitCode: number | null, extra: Record<string, unknown> = {}) =>
    insertRun(db().knex, db().dialect, {
      job: CLEANUP, startedAt: after(startMin * MIN), finishedAt: status === 'running' ? null : after(startMin * MIN + 5000), status, exitCode, ...extra,
    });

  test('success at the slot, then a failure by hand: CRITICAL, naming the slot run too', async () => {
    const slotRun = await run(0, 'succeeded', 0, { scheduledFor: SLOT });
    const manual = await run(60, 'failed', 69, { error: 'SMTP unreachable' });
    const c = await check(after(90 * MIN));
    assert.equal(c.code, 2, c.stdout);
    assert.match(c.stdout, /^ONTIME CRITICAL - cleanup-survey-progress failed \(exit 69\)\n/);
    assert.match(c.stdout, new RegExp(`failed \\(exit 69\\) \\(run ${manual}, started directly 2027-01-06 04:00:00 UTC, after the slot 2027-01-06 03:00:00 UTC, run ${slotRun}: succeeded, exit 0\\): SMTP unreachable`));
    const w = await why(after(90 * MIN));
    assert.match(w.stdout, new RegExp(`Ran: run ${slotRun} by run-due`));
    assert.match(w.stdout, new RegExp(`Most recent finished run \\(check judges by it\\): run ${manual} by a direct start`));
    assert.match(w.stdout, /check says: CRITICAL/);
    const json = JSON.parse((await runCli(['why', CLEANUP, '--now', after(90 * MIN).toISOString(), '--json'], env())).stdout);
    assert.equal(json.run.id, slotRun);
    assert.equal(json.lastFinishedRun.id, manual);
    assert.equal(json.check.verdict, 'critical');
  });

  test('failure at the slot, then a success by hand: OK again', async () => {
    await run(0, 'failed', 70, { scheduledFor: SLOT, error: 'boom' });
    const before = await check(after(30 * MIN));
    assert.equal(before.code, 2, before.stdout);
    const manual = await run(60, 'succeeded', 0);
    const c = await check(after(90 * MIN));
    assert.equal(c.code, 0, c.stdout);
    assert.match(c.stdout, new RegExp(`OK {7}cleanup-survey-progress: succeeded \\(run ${manual}, started directly .*after the slot 2027-01-06 03:00:00 UTC, run \\d+: failed, exit 70`));
  });

  test('a failed run by hand between slots stays CRITICAL into the next slot until a success', async () => {
    await run(0, 'succeeded', 0, { scheduledFor: SLOT });
    await run(12 * 60, 'failed', 75, { error: 'database went away' }); // 15:00, between slots
    const between = await check(after(13 * 60 * MIN));
    assert.equal(between.code, 2, between.stdout);
    // Next day's slot not started yet, within its grace: still CRITICAL (the last finished run failed).
    const nextDue = await check(after(24 * 60 * MIN + 10 * MIN));
    assert.equal(nextDue.code, 2, nextDue.stdout);
    assert.match(nextDue.stdout, /failed \(exit 75\) \(run \d+, started directly 2027-01-06 15:00:00 UTC\): database went away; latest slot: due: slot 2027-01-07 03:00:00 UTC/);
    // The next slot's run succeeds: OK.
    await insertRun(db().knex, db().dialect, {
      job: CLEANUP, scheduledFor: after(24 * 60 * MIN), startedAt: after(24 * 60 * MIN + 2000), finishedAt: after(24 * 60 * MIN + 9000), status: 'succeeded', exitCode: 0,
    });
    assert.equal((await check(after(24 * 60 * MIN + 20 * MIN))).code, 0);
  });

  test('a running run: the most recent finished run decides until it ends', async () => {
    await run(-24 * 60, 'failed', 70, { scheduledFor: after(-24 * 60 * MIN), error: 'boom' });
    const runningId = await run(0, 'running', null, { scheduledFor: SLOT });
    const c = await check(after(10 * MIN));
    assert.equal(c.code, 2, c.stdout);
    assert.match(c.stdout, new RegExp(`failed \\(exit 70\\).*latest slot: running since 2027-01-06 03:00:00 UTC \\(slot 2027-01-06 03:00:00 UTC, run ${runningId}\\)`));
    await db().knex('job_runs').where({ id: runningId }).update({ status: 'succeeded', exit_code: 0, finished_at: instant(db().dialect, after(5 * MIN)) });
    assert.equal((await check(after(10 * MIN))).code, 0);
    // After a success, a running run is simply OK.
    await run(20, 'running', null);
    assert.equal((await check(after(25 * MIN))).code, 0);
  });

  test('lock-held skips: OK twice, WARNING from the third with a live holder, CRITICAL when the holder is gone or stuck', async () => {
    const holder = await run(0, 'running', null, { scheduledFor: SLOT });
    const skip = (m: number) => run(m, 'skipped', 0, { summary: { reason: 'lock held', holder: 'web-2 pid 7 #abc', holderRunId: holder } });
    await skip(1);
    await skip(2);
    assert.equal((await check(after(3 * MIN))).code, 0);
    await skip(3);
    const warn = await check(after(4 * MIN));
    assert.equal(warn.code, 1, warn.stdout);
    assert.match(warn.stdout, /WARNING {2}cleanup-survey-progress: skipped 3 times in a row: the lock is held by web-2 pid 7 #abc, still running/);
    // The holder is past its 30 min time limit.
    const stuck = await check(after(40 * MIN));
    assert.equal(stuck.code, 2, stuck.stdout);
    assert.match(stuck.stdout, /running longer than its 30 min time limit/);
    // The holder's row ended, yet the lock is still reported held: a leaked or foreign lock.
    await db().knex('job_runs').where({ id: holder }).update({ status: 'succeeded', exit_code: 0, finished_at: instant(db().dialect, after(MIN / 2)) });
    const gone = await check(after(4 * MIN));
    assert.equal(gone.code, 2, gone.stdout);
    assert.match(gone.stdout, /which has no running run \(a leaked or foreign lock\); see `ontime locks`/);
    // A run that gets the lock ends the streak.
    await run(5, 'succeeded', 0);
    assert.equal((await check(after(6 * MIN))).code, 0);
  });
});
