/**
 * `ontime schedule`: a schedule set by the operator is what run-due runs, what jobs/why/check
 * report and what every export writes; --reset restores the built-in one; bad input is 64.
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { onlyEnable, slotsRun } from '../helpers/runs.js';

const CLEANUP = 'cleanup-survey-progress'; // built-in 0 3 * * *

forEachDatabase('schedule', (db) => {
  const env = (extra: Record<string, string> = {}) => ({ DATABASE_URL: db().url, ...extra });
  beforeEach(async () => {
    await db().reset();
  });

  test('run-due runs the job at the new slot and not the old one; --reset restores the default', async () => {
    const { knex } = db();
    await onlyEnable(knex, [CLEANUP]);
    const set = await runCli(['schedule', CLEANUP, '20 5 * * *'], env());
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /0 3 \* \* \* \(built-in default\) → 20 5 \* \* \* \(set with ontime schedule\)/);

    // At the old time, run-due serves the new schedule's latest slot (yesterday 05:20, still in
    // its catch-up window), never the old 03:00 one.
    const atOld = await runCli(['run-due', '--now', '2026-11-20T03:00:40Z'], env());
    assert.equal(atOld.code, 0, atOld.stderr);
    assert.deepEqual(await slotsRun(knex, CLEANUP), ['2026-11-19T05:20:00.000Z'], 'nothing runs for the old slot');
    const atNew = await runCli(['run-due', '--now', '2026-11-20T05:20:40Z'], env());
    assert.equal(atNew.code, 0, atNew.stderr + atNew.stdout);
    assert.deepEqual(await slotsRun(knex, CLEANUP), ['2026-11-19T05:20:00.000Z', '2026-11-20T05:20:00.000Z']);

    const why = await runCli(['why', CLEANUP, '--now', '2026-11-20T05:30:00Z'], env());
    assert.match(why.stdout, /schedule 20 5 \* \* \* \(set with ontime schedule; default 0 3 \* \* \*\)/);
    const jobs = await runCli(['jobs', '--json', '--now', '2026-11-20T05:30:00Z'], env());
    const row = JSON.parse(jobs.stdout).jobs.find((j: { job: string }) => j.job === CLEANUP);
    assert.deepEqual([row.schedule, row.scheduleOverridden, row.nextRun], ['20 5 * * *', true, '2026-11-21T05:20:00.000Z']);
    const human = await runCli(['jobs', '--now', '2026-11-20T05:30:00Z'], env());
    assert.match(human.stdout, /cleanup-survey-progress\s+20 5 \* \* \* \*/);
    assert.match(human.stdout, /^\* schedule set with `ontime schedule`/m);
    const check = await runCli(['check', '--json', '--now', '2026-11-20T05:30:00Z'], env());
    assert.equal(JSON.parse(check.stdout).jobs.find((j: { job: string }) => j.job === CLEANUP).state, 'ran');

    const reset = await runCli(['schedule', CLEANUP, '--reset'], env());
    assert.equal(reset.code, 0, reset.stderr);
    assert.equal(await knex('system_settings').where({ key: `job.${CLEANUP}.schedule` }).first(), undefined);
    // Back on the default: at 05:20 the day after, the slot served is 03:00's.
    await runCli(['run-due', '--now', '2026-11-21T05:20:40Z'], env());
    assert.deepEqual((await slotsRun(knex, CLEANUP)).slice(2), ['2026-11-21T03:00:00.000Z']);
  });

  test('every export carries the stored expression and says the schedules came from the database', async () => {
    assert.equal((await runCli(['schedule', CLEANUP, '20 5 * * 1-5'], env())).code, 0);
    const crontab = await runCli(['export', 'crontab'], env());
    assert.equal(crontab.code, 0, crontab.stderr);
    assert.match(crontab.stdout, /^# Schedules: read from the database; set with `ontime schedule`: cleanup-survey-progress;/m);
    assert.match(crontab.stdout, /^20 5 \* \* 1-5 .*cleanup-survey-progress/m);
    assert.doesNotMatch(crontab.stdout, /^0 3 \* \* \* /m);
    const k8s = await runCli(['export', 'k8s'], env());
    assert.match(k8s.stdout, /schedule: "20 5 \* \* 1-5"/);
    const systemd = await runCli(['export', 'systemd'], env());
    assert.match(systemd.stdout, /OnCalendar=Mon\.\.Fri \*-\*-\* 05:20:00/);
    const schtasks = await runCli(['export', 'schtasks'], env());
    assert.match(schtasks.stdout, /Schedule \(cron\): 20 5 \* \* 1-5/);
    const builtIn = await runCli(['export', 'crontab', '--defaults'], env());
    assert.match(builtIn.stdout, /^0 3 \* \* \* .*cleanup-survey-progress/m);
    assert.match(builtIn.stdout, /^# Schedules: the built-in defaults \(--defaults/m);
  });

  test('a database that cannot be read: the built-in schedules, said in the header and on stderr', async () => {
    const res = await runCli(['export', 'crontab'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /note: exporting the built-in schedules/);
    assert.match(res.stdout, /^# Schedules: the built-in defaults \(the database could not be read\)\./m);
    assert.match(res.stdout, /^0 3 \* \* \* .*cleanup-survey-progress/m);
  });

  test('invalid expressions exit 64 naming the field; a job started by hand cannot get a schedule; unknown job 64', async () => {
    const minute = await runCli(['schedule', CLEANUP, '61 * * * *'], env());
    assert.equal(minute.code, 64);
    assert.match(minute.stderr, /the minute field "61"/);
    const month = await runCli(['schedule', CLEANUP, '0 3 * 13 *'], env());
    assert.equal(month.code, 64);
    assert.match(month.stderr, /the month field "13"/);
    const fields = await runCli(['schedule', CLEANUP, '0 3 * *'], env());
    assert.equal(fields.code, 64);
    assert.match(fields.stderr, /has 4 fields/);
    const byHand = await runCli(['schedule', 'bulk-update-case-status', '0 3 * * *'], env());
    assert.equal(byHand.code, 64);
    assert.match(byHand.stderr, /started by hand only/);
    assert.equal((await runCli(['schedule', 'nope', '0 3 * * *'], env())).code, 64);
    assert.equal((await db().knex('system_settings').where('key', 'like', '%.schedule')).length, 0);
  });
});
