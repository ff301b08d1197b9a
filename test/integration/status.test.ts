/** why, jobs and check for each state they report, from job_runs rows written directly. */
import assert from 'node:assert/strict';
import { jobs } from '../../src/registry.js';
import { beforeEach, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { insertRun, onlyEnable } from '../helpers/runs.js';
import { installedAt } from '../../src/db/job-status.js';
import { previousSlot } from '../../src/schedule/cron.js';

const CLEANUP = 'cleanup-survey-progress'; // 0 3 * * *: grace 1 h
const SLOT = new Date('2027-01-06T03:00:00Z'); // after the test database was set up
const MIN = 60_000;
const after = (ms: number) => new Date(SLOT.getTime() + ms);

forEachDatabase('why, jobs and check', (db) => {
  const env = () => ({ DATABASE_URL: db().url });
  beforeEach(async () => {
    await db().reset();
    await onlyEnable(db().knex, [CLEANUP]);
  });

  const why = (now: Date, job = CLEANUP) => runCli(['why', job, '--now', now.toISOString()], env());
  const check = (now: Date) => runCli(['check', '--now', now.toISOString()], env());
  const slotRun = (status: string, exitCode: number | null, extra: Record<string, unknown> = {}) =>
    insertRun(db().knex, db().dialect, {
      job: CLEANUP, scheduledFor: SLOT, startedAt: after(2000), finishedAt: status === 'running' ? null : after(9000), status, exitCode, ...extra,
    });

  test('ran and succeeded: why tells the run, check is OK', async () => {
    const id = await slotRun('succeeded', 0);
    const w = await why(after(20 * MIN));
    assert.equal(w.code, 0, w.stderr);
    assert.match(w.stdout, /Latest slot: 2027-01-06 03:00:00 UTC/);
    assert.match(w.stdout, new RegExp(`Ran: run ${id} by run-due on host-a \\(pid 4242\\), started 2027-01-06 03:00:02 UTC, finished 2027-01-06 03:00:09 UTC: succeeded, exit 0`));
    assert.match(w.stdout, /Next slot: 2027-01-07 03:00:00 UTC, in 23 h 40 min/);
    const c = await check(after(20 * MIN));
    assert.equal(c.code, 0, c.stdout);
    assert.match(c.stdout, /^ONTIME OK - 1 scheduled job on time and green\n/);
  });

  test('a run started directly (a crontab line, no slot) serves the slot too', async () => {
    await insertRun(db().knex, db().dialect, { job: CLEANUP, startedAt: after(5000), finishedAt: after(8000), status: 'succeeded', exitCode: 0 });
    const w = await why(after(20 * MIN));
    assert.match(w.stdout, /Ran: run \d+ by a direct start/);
    assert.equal((await check(after(20 * MIN))).code, 0);
  });

  test('failed: CRITICAL with the exit code and the error', async () => {
    await slotRun('failed', 70, { error: 'cleanup-survey-progress: internal error in the handler' });
    const w = await why(after(20 * MIN));
    assert.match(w.stdout, /failed, exit 70/);
    assert.match(w.stdout, /error: cleanup-survey-progress: internal error in the handler/);
    const c = await check(after(20 * MIN));
    assert.equal(c.code, 2);
    assert.match(c.stdout, /^ONTIME CRITICAL - cleanup-survey-progress failed \(exit 70\)\n/);
    assert.match(c.stdout, /CRITICAL cleanup-survey-progress: failed \(exit 70\) \(slot 2027-01-06 03:00:00 UTC, run \d+\): cleanup-survey-progress: internal error/);
  });

  test('partial and interrupted: WARNING', async () => {
    await slotRun('partial', 1);
    const c = await check(after(20 * MIN));
    assert.equal(c.code, 1);
    assert.match(c.stdout, /^ONTIME WARNING - cleanup-survey-progress partial \(exit 1\)/);
    await db().knex('job_runs').update({ status: 'interrupted', exit_code: 75 });
    assert.equal((await check(after(20 * MIN))).code, 1);
  });

  test('abandoned: CRITICAL; running within its time limit: OK; past it: WARNING', async () => {
    await slotRun('abandoned', null);
    assert.equal((await check(after(20 * MIN))).code, 2);
    await db().knex('job_runs').update({ status: 'running', finished_at: null });
    const running = await check(after(20 * MIN));
    assert.equal(running.code, 0, running.stdout);
    assert.match((await why(after(20 * MIN))).stdout, /Running: run \d+/);
    const stuck = await check(after(3 * 60 * MIN));
    assert.equal(stuck.code, 1, stuck.stdout);
    assert.match(stuck.stdout, /still running since 2027-01-06 03:00:02 UTC, past its 30 min time limit/);
  });

  test('skipped: why names the lock holder; check stays OK', async () => {
    await slotRun('skipped', 0, { summary: { reason: 'lock held', holder: 'web-2:991' } });
    const w = await why(after(20 * MIN));
    assert.match(w.stdout, /Skipped: run \d+ at 2027-01-06 03:00:02 UTC did nothing because the job's lock was held by web-2:991\./);
    assert.equal((await check(after(20 * MIN))).code, 0);
  });

  test('disabled: why says so and how to enable; check OK', async () => {
    await onlyEnable(db().knex, []);
    const w = await why(after(20 * MIN));
    assert.match(w.stdout, /disabled/);
    assert.match(w.stdout, /Disabled: no run served this slot because the job is switched off \(`ontime enable cleanup-survey-progress`/);
    const c = await check(after(20 * MIN));
    assert.equal(c.code, 0);
    assert.match(c.stdout, /OK {7}cleanup-survey-progress: disabled/);
  });

  test('due within its grace period: OK; late: WARNING; missed: CRITICAL (never ran)', async () => {
    const due = await why(after(30 * MIN));
    assert.match(due.stdout, /Due: no run yet; the next run-due pass starts it \(it may still start until 2027-01-07 03:00:00 UTC\)/);
    assert.equal((await check(after(30 * MIN))).code, 0);

    const late = await why(after(90 * MIN));
    assert.match(late.stdout, /Late: no run yet, 1 h 30 min after the slot \(grace 1 h\)/);
    const lateCheck = await check(after(90 * MIN));
    assert.equal(lateCheck.code, 1);
    assert.match(lateCheck.stdout, /^ONTIME WARNING - cleanup-survey-progress late\n/);

    // A weekly job's slot (Thursday 2027-01-07 08:00) two days later: outside its 24 h window.
    await onlyEnable(db().knex, ['weekly-paid-update']);
    const now = new Date('2027-01-09T12:00:00Z');
    const missed = await runCli(['why', 'weekly-paid-update', '--now', now.toISOString()], env());
    assert.match(missed.stdout, /Missed: no run served this slot and its catch-up window closed at 2027-01-08 08:00:00 UTC; it will not be replayed/);
    const c = await check(now);
    assert.equal(c.code, 2);
    assert.match(c.stdout, /^ONTIME CRITICAL - weekly-paid-update never ran\n/);
  });

  test('not yet due: a slot from before ontime was set up is not "missed"', async () => {
    await onlyEnable(db().knex, ['weekly-paid-update', 'weekly-pending-payment-update']);
    const setup = (await installedAt(db().knex))!;
    const now = new Date(setup.getTime() + MIN);
    // Of the two weekly jobs, take the one whose latest slot is more than a day old.
    const job = ['weekly-paid-update', 'weekly-pending-payment-update'].find((j) => {
      const expr = j === 'weekly-paid-update' ? '0 8 * * 4' : '0 8 * * 1';
      return now.getTime() - previousSlot(expr, now, 'UTC')!.getTime() > 24 * 60 * MIN;
    })!;
    const w = await runCli(['why', job, '--now', now.toISOString()], env());
    assert.match(w.stdout, /Not yet due: its latest slot \(.*\) came before ontime was set up/);
    assert.equal((await check(now)).code, 0);
  });

  test('a job with no schedule', async () => {
    const w = await why(after(MIN), 'bulk-update-case-status');
    assert.equal(w.code, 0);
    assert.match(w.stdout, /bulk-update-case-status: no schedule/);
    assert.match(w.stdout, /No schedule: bulk-update-case-status is started by hand only/);
    const unknown = await why(after(MIN), 'no-such-job');
    assert.equal(unknown.code, 64);
    assert.match(unknown.stderr, /unknown job "no-such-job"/);
  });

  test('why --json and jobs --json', async () => {
    const id = await slotRun('succeeded', 0);
    const w = JSON.parse((await runCli(['why', CLEANUP, '--now', after(MIN).toISOString(), '--json'], env())).stdout);
    assert.equal(w.state, 'ran');
    assert.equal(w.run.id, id);
    assert.equal(w.slot, SLOT.toISOString());
    assert.equal(w.nextSlot, '2027-01-07T03:00:00.000Z');

    const j = await runCli(['jobs', '--now', after(MIN).toISOString(), '--json'], { ...env(), ONTIME_TIMEZONE: 'Europe/Berlin' });
    assert.equal(j.code, 0, j.stderr);
    const list = JSON.parse(j.stdout);
    assert.equal(list.jobs.length, jobs.length);
    const cleanup = list.jobs.find((x: { job: string }) => x.job === CLEANUP);
    // 03:00 in Berlin is 02:00 UTC in winter.
    assert.equal(cleanup.nextRun, '2027-01-07T02:00:00.000Z');
    assert.equal(cleanup.nextRunLocal, '2027-01-07 03:00:00 CET');
    assert.equal(cleanup.enabled, true);
    assert.deepEqual([cleanup.lastRun.id, cleanup.lastRun.status, cleanup.lastRun.exitCode], [id, 'succeeded', 0]);
    assert.equal(list.jobs.find((x: { job: string }) => x.job === 'bulk-update-case-status').nextRun, null);

    const table = await runCli(['jobs', '--now', after(MIN).toISOString()], env());
    assert.match(table.stdout, /JOB\s+SCHEDULE\s+ENABLED\s+NEXT RUN \(UTC\)\s+LAST RUN/);
    assert.match(table.stdout, /cleanup-survey-progress\s+0 3 \* \* \*\s+yes\s+2027-01-07 03:00:00 UTC\s+2027-01-06 03:00:02 UTC succeeded \(exit 0\)/);
    assert.match(table.stdout, /weekly-paid-update\s+0 8 \* \* 4\s+no\s+/);
  });
});
