/** `ontime enable|disable <job>`: job.<name>.enabled in system_settings, on every database. */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { forEachDatabase } from '../helpers/databases.js';
import { runCli } from '../helpers/cli.js';
import { jobs } from '../../src/registry.js';

forEachDatabase('enable and disable', (db) => {
  beforeEach(async () => {
    await db().reset();
  });
  const setting = async (job: string) =>
    (await db().knex('system_settings').where({ key: `job.${job}.enabled` }).first('value'))?.value as string | undefined;

  test('disable stores false and says what changed; enable stores true', async () => {
    const env = { DATABASE_URL: db().url };
    const off = await runCli(['disable', 'send-scheduled-emails'], env);
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stdout, /^send-scheduled-emails: enabled → disabled$/m);
    assert.equal(await setting('send-scheduled-emails'), 'false');

    const again = await runCli(['disable', 'send-scheduled-emails'], env);
    assert.match(again.stdout, /already disabled; nothing changed/);

    const on = await runCli(['enable', 'send-scheduled-emails'], env);
    assert.equal(on.code, 0);
    assert.match(on.stdout, /^send-scheduled-emails: disabled → enabled$/m);
    assert.equal(await setting('send-scheduled-emails'), 'true');
  });

  test('a disabled job exits 0 with a note; an unreadable setting is a configuration error that enable repairs', async () => {
    const env = { DATABASE_URL: db().url };
    await runCli(['disable', 'cleanup-survey-progress'], env);
    const off = await runCli(['cleanup-survey-progress'], env);
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stdout, /cleanup-survey-progress is disabled/);

    await db().knex('system_settings').where({ key: 'job.cleanup-survey-progress.enabled' }).update({ value: 'disabled please' });
    const typo = await runCli(['cleanup-survey-progress'], env);
    assert.equal(typo.code, 78);
    assert.match(typo.stderr, /job\.cleanup-survey-progress\.enabled must be true or false, not "disabled please"/);

    const on = await runCli(['enable', 'cleanup-survey-progress'], env);
    assert.equal(on.code, 0, on.stderr);
    const ran = await runCli(['cleanup-survey-progress', '--json'], env);
    assert.equal(JSON.parse(ran.stdout).status, 'succeeded');
  });

  test('the snake_case alias names the same job', async () => {
    const r = await runCli(['disable', 'process_data_governance'], { DATABASE_URL: db().url });
    assert.equal(r.code, 0);
    assert.equal(await setting('process-data-governance'), 'false');
  });

  test('--json prints one object on stdout', async () => {
    const r = await runCli(['disable', 'cleanup-survey-progress', '--json'], { DATABASE_URL: db().url });
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.stdout), {
      job: 'cleanup-survey-progress',
      setting: 'job.cleanup-survey-progress.enabled',
      enabled: false,
      previous: true,
      changed: true,
      action: 'disable',
    });
  });

  test('an unknown job exits 64, lists the jobs and changes nothing', async () => {
    const before = await db().checksum();
    const r = await runCli(['enable', 'release-cases'], { DATABASE_URL: db().url });
    assert.equal(r.code, 64);
    assert.match(r.stderr, /unknown job "release-cases"; jobs: release-scheduled-cases, send-scheduled-emails/);
    assert.equal(await db().checksum(), before);
  });

  test('disable --all stops every job, recorded like the single switch; enable --all turns them back on', async () => {
    const env = { DATABASE_URL: db().url };
    await runCli(['disable', 'send-scheduled-emails'], env);
    const off = await runCli(['disable', '--all'], env);
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stdout, /^send-scheduled-emails: already disabled; nothing changed$/m);
    assert.match(off.stdout, /^cleanup-survey-progress: enabled → disabled$/m);
    assert.match(off.stdout, /`ontime enable --all` turns them back on/);
    for (const def of jobs) assert.equal(await setting(def.name), 'false', def.name);
    const run = await runCli(['cleanup-survey-progress'], env);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /cleanup-survey-progress is disabled/);

    const on = await runCli(['enable', '--all', '--json'], env);
    assert.equal(on.code, 0, on.stderr);
    const json = JSON.parse(on.stdout);
    assert.equal(json.all, true);
    assert.equal(json.jobs.length, jobs.length);
    assert.ok(json.jobs.every((j: { enabled: boolean; changed: boolean }) => j.enabled && j.changed));
    for (const def of jobs) assert.equal(await setting(def.name), 'true', def.name);
  });

  test('a job and --all together, or neither, is a usage error that changes nothing', async () => {
    const before = await db().checksum();
    const both = await runCli(['disable', 'cleanup-survey-progress', '--all'], { DATABASE_URL: db().url });
    assert.equal(both.code, 64);
    assert.match(both.stderr, /give a job or --all, not both/);
    const neither = await runCli(['disable'], { DATABASE_URL: db().url });
    assert.equal(neither.code, 64);
    assert.match(neither.stderr, /disable which job\? Give its name, or --all/);
    assert.equal(await db().checksum(), before);
  });
});
