/**
 * run-due end to end: the dispatcher in this process, each job it starts a real child process
 * of the built binary (run `npm run build` first). Most jobs are switched off per test so that
 * only the ones under test are started.
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { runCli, spawnCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { insertRun, onlyEnable, slotsRun } from '../helpers/runs.js';
import { nextSlot, previousSlot } from '../../src/schedule/cron.js';

const CLEANUP = 'cleanup-survey-progress'; // 0 3 * * *, a complete job
const GOVERNANCE = 'process-data-governance'; // 0 2 * * *
const HOURLY = 'release-scheduled-cases'; // 0 * * * *
const WEEKLY = 'weekly-paid-update'; // 0 8 * * 4

forEachDatabase('run-due', (db) => {
  const env = (extra: Record<string, string> = {}) => ({ DATABASE_URL: db().url, ...extra });
  beforeEach(async () => {
    await db().reset();
  });

  test('on time: the latest slot runs once, recorded with its slot and trigger', async () => {
    const { knex } = db();
    await onlyEnable(knex, [CLEANUP]);
    const first = await runCli(['run-due', '--now', '2026-11-20T03:00:40Z'], env());
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /cleanup-survey-progress: starting for slot 2026-11-20 03:00:00 UTC/);
    assert.match(first.stdout, /\[cleanup-survey-progress\] Starting survey progress cleanup/);
    assert.match(first.stdout, /run-due: started 1 of 1 due: cleanup-survey-progress exit 0; exit 0/);
    const rows = await knex('job_runs').select('job', 'trigger', 'status', 'exit_code');
    assert.deepEqual(rows.map((r) => [r.job, r.trigger, r.status, Number(r.exit_code)]), [[CLEANUP, 'run-due', 'succeeded', 0]]);
    assert.deepEqual(await slotsRun(knex, CLEANUP), ['2026-11-20T03:00:00.000Z']);

    // A minute later the slot has its run: nothing is started, nothing is printed.
    const again = await runCli(['run-due', '--now', '2026-11-20T03:01:40Z'], env());
    assert.equal(again.code, 0);
    assert.equal(again.stdout, '');
    assert.equal(await knex('job_runs').count({ n: '*' }).first().then((r) => Number(r!.n)), 1);
  });

  test('missed by 3 days: one catch-up run of the latest slot, not a burst; older misses reported', async () => {
    const { knex, dialect } = db();
    await onlyEnable(knex, [CLEANUP, HOURLY, WEEKLY]);
    const lastSeen = new Date('2026-11-16T03:00:00Z');
    await insertRun(knex, dialect, { job: CLEANUP, scheduledFor: lastSeen, startedAt: lastSeen, finishedAt: lastSeen, status: 'succeeded', exitCode: 0 });
    await insertRun(knex, dialect, { job: HOURLY, scheduledFor: lastSeen, startedAt: lastSeen, finishedAt: lastSeen, status: 'succeeded', exitCode: 0 });
    // Thursday 2026-11-19 08:00 was weekly-paid-update's slot; on Saturday its window (24 h) is closed.
    const r = await runCli(['run-due', '--now', '2026-11-21T05:10:00Z', '--verbose'], env());
    assert.deepEqual(await slotsRun(knex, CLEANUP), ['2026-11-16T03:00:00.000Z', '2026-11-21T03:00:00.000Z']);
    assert.deepEqual(await slotsRun(knex, HOURLY), ['2026-11-16T03:00:00.000Z', '2026-11-21T05:00:00.000Z']);
    assert.deepEqual(await slotsRun(knex, WEEKLY), [], 'a weekly slot outside its catch-up window is not replayed');
    assert.match(r.stdout, /cleanup-survey-progress: starting for slot 2026-11-21 03:00:00 UTC \(catch-up: 4 earlier slots missed, not replayed\)/);
    assert.match(r.stdout, /release-scheduled-cases: starting for slot 2026-11-21 05:00:00 UTC \(catch-up: 121 earlier slots missed, not replayed\)/);
    assert.match(r.stdout, /weekly-paid-update: missed slot 2026-11-19 08:00:00 UTC: its catch-up window closed at 2026-11-20 08:00:00 UTC/);
    // Whatever the release job's own outcome, its exit code is run-due's worst.
    const hourly = await knex('job_runs').where({ job: HOURLY }).orderBy('id', 'desc').first();
    assert.equal(r.code, Number(hourly.exit_code) === 0 ? 0 : Number(hourly.exit_code), r.stdout + r.stderr);
  });

  test('a disabled job is not started; --dry-run starts nothing and says what would run', async () => {
    const { knex } = db();
    await onlyEnable(knex, [CLEANUP]);
    await knex('system_settings').insert({ key: `job.${CLEANUP}.enabled`, value: 'false' }).onConflict('key').merge();
    await knex('system_settings').where({ key: `job.${GOVERNANCE}.enabled` }).del();
    const dry = await runCli(['run-due', '--now', '2026-11-20T03:00:40Z', '--dry-run'], env());
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /cleanup-survey-progress: disabled/);
    assert.match(dry.stdout, /process-data-governance: would start for slot 2026-11-20 02:00:00 UTC/);
    assert.equal(await knex('job_runs').count({ n: '*' }).first().then((r) => Number(r!.n)), 0);

    await knex('system_settings').insert({ key: `job.${GOVERNANCE}.enabled`, value: 'false' });
    const real = await runCli(['run-due', '--now', '2026-11-20T03:00:40Z', '--json'], env());
    assert.equal(real.code, 0, real.stderr);
    const report = JSON.parse(real.stdout);
    assert.equal(report.jobs.find((j: { job: string }) => j.job === CLEANUP).action, 'disabled');
    assert.deepEqual(report.started, []);
    assert.equal(await knex('job_runs').count({ n: '*' }).first().then((r) => Number(r!.n)), 0);
  });

  test('run-due refuses a future --now without --dry-run', async () => {
    const r = await runCli(['run-due', '--now', '2099-01-01T00:00:00Z'], env());
    assert.equal(r.code, 64);
    assert.match(r.stderr, /later than the clock/);
  });

  test('two run-due processes racing for the same slot: one run', async () => {
    const { knex } = db();
    await onlyEnable(knex, [CLEANUP]);
    const args = ['run-due', '--now', '2026-11-18T03:00:05Z'];
    const [a, b] = await Promise.all([spawnCli(args, env()), spawnCli(args, env())]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const rows = await knex('job_runs').where({ job: CLEANUP }).select('status', 'scheduled_for');
    assert.equal(rows.length, 1, JSON.stringify(rows));
    assert.equal(rows[0].status, 'succeeded');
  });

  // Each daily slot once across the DST change, run-due called every hour of three days.
  const DST_DAYS: Array<[zone: string, day: string, what: string]> = [
    ['Europe/London', '2026-03-29', 'spring forward'],
    ['Europe/London', '2026-10-25', 'fall back'],
    ['America/New_York', '2026-03-08', 'spring forward'],
    ['America/New_York', '2026-11-01', 'fall back'],
  ];
  for (const [zone, day, what] of DST_DAYS) {
    test(`DST ${what} in ${zone} (${day}): each daily slot runs once`, async () => {
      const { knex } = db();
      await onlyEnable(knex, [CLEANUP, GOVERNANCE]);
      const start = new Date(Date.parse(`${day}T00:00:00Z`) - 24 * 3_600_000);
      for (let h = 0; h < 72; h++) {
        const now = new Date(start.getTime() + h * 3_600_000 + 30 * 60_000);
        const r = await runCli(['run-due', '--now', now.toISOString()], env({ ONTIME_TIMEZONE: zone }));
        assert.ok([0, 70].includes(r.code), `${now.toISOString()}: ${r.stdout}${r.stderr}`);
      }
      const end = new Date(start.getTime() + 72 * 3_600_000);
      for (const [job, expr] of [[CLEANUP, '0 3 * * *'], [GOVERNANCE, '0 2 * * *']] as const) {
        const expected: string[] = [];
        // Slots the schedule core says exist in the window (the first one may predate it).
        let slot = previousSlot(expr, new Date(start.getTime() + 30 * 60_000), zone);
        while (slot && slot.getTime() <= end.getTime()) {
          if (slot.getTime() >= start.getTime()) expected.push(slot.toISOString());
          slot = nextSlot(expr, slot, zone);
        }
        const ran = await slotsRun(knex, job);
        assert.deepEqual(ran.filter((s) => s >= start.toISOString()), expected, `${job} in ${zone}`);
        const localDay = (iso: string) => new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(new Date(iso));
        assert.equal(ran.filter((s) => localDay(s) === day).length, 1, `${job} ran once on ${day}: ${ran.join(', ')}`);
      }
    });
  }
});
