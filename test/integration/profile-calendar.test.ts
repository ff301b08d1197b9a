/**
 * ONTIME_CALENDAR_TIMEZONE: `today` for date columns is the day in the application's calendar,
 * instants stay UTC; and ONTIME_TABLE_PREFIX under the ontime profile (own tables prefixed, the
 * application tables as before).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromDbInstant } from '../../src/db/time.js';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';

forEachDatabase('calendar time zone', (db) => {
  test('America/Chicago: a case scheduled for March 20 is released at Chicago midnight, recorded in UTC', async () => {
    const { knex } = db();
    await knex('cases').insert({ reference: 'C-1', title: 'Case', status: 10, scheduled_release_date: '2026-03-20' });
    const env = { DATABASE_URL: db().url, ONTIME_CALENDAR_TIMEZONE: 'America/Chicago' };
    // 23:59:59 on March 19 in Chicago (CDT, UTC-5): March 20 in UTC, not yet in Chicago.
    const early = await runCli(['release-scheduled-cases', '--json', '--now', '2026-03-20T04:59:59Z'], env);
    assert.equal(early.code, 0, early.stderr);
    assert.equal(JSON.parse(early.stdout).summary.released, 0);
    const due = await runCli(['release-scheduled-cases', '--json', '--now', '2026-03-20T05:00:00Z'], env);
    assert.equal(JSON.parse(due.stdout).summary.released, 1);
    const row = await knex('cases').first('actual_release_date');
    assert.equal(fromDbInstant(row.actual_release_date)?.toISOString(), '2026-03-20T05:00:00.000Z');
  });

  test('without the setting the UTC day decides, as before', async () => {
    const { knex } = db();
    await knex('cases').insert({ reference: 'C-2', title: 'Case', status: 10, scheduled_release_date: '2026-04-20' });
    const r = await runCli(['release-scheduled-cases', '--json', '--now', '2026-04-20T00:00:00Z'], { DATABASE_URL: db().url });
    assert.equal(JSON.parse(r.stdout).summary.released, 1);
  });
});

forEachDatabase(
  'table prefix under the ontime profile',
  (db) => {
    test('ONTIME_TABLE_PREFIX prefixes ontime\'s own tables; the application tables keep their names', async () => {
      const { knex } = db();
      const env = { DATABASE_URL: db().url, ONTIME_TABLE_PREFIX: 'ot_' };
      const m = await runCli(['migrate'], env);
      assert.equal(m.code, 0, m.stderr);
      for (const t of ['ot_job_runs', 'ot_job_locks', 'ot_email_outbox', 'ot_audit_log', 'ot_survey_deletion_warnings', 'ot_knex_migrations', 'cases', 'surveys', 'system_settings']) {
        assert.ok(await knex.schema.hasTable(t), t);
      }
      for (const t of ['job_runs', 'audit_log', 'knex_migrations', 'survey_deletion_warnings']) assert.equal(await knex.schema.hasTable(t), false, t);
      const r = await runCli(['cleanup-survey-progress', '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(Number((await knex('ot_job_runs').count({ n: '*' }))[0]!.n), 1);
    });
  },
  { migrate: false },
);
