/**
 * The `advisor-portal` profile on the portal's own Django tables (MariaDB and SQLite as the
 * application runs them; PostgreSQL renders the same DDL): releases follow the status and the
 * instant, the settings row's real switches, holds as a status, and the profile-declared writes;
 * the mail job sweeps released cases to the member and delegates in one message.
 */
import assert from 'node:assert/strict';
import { before, beforeEach, test } from 'node:test';
import type { Knex } from 'knex';
import { fromDbInstant } from '../../src/db/time.js';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase, type TestDatabase } from '../helpers/databases.js';
import { tableNames } from '../helpers/django-ddl.js';
import {
  ADVISOR_PORTAL_TABLE_NAMES,
  clearAdvisorPortal,
  createAdvisorPortalSchema,
  insertMemberDelegate,
  insertPortalCase,
  insertPortalSettings,
  insertPortalUser,
} from '../helpers/advisor-portal-schema.js';

const NOW = '2026-06-08T15:30:00Z';
const at = (iso: string) => new Date(iso);
const iso = (v: unknown) => fromDbInstant(v)?.toISOString() ?? null;

export async function runPortal(db: TestDatabase, args: string[], env: Record<string, string> = {}) {
  const result = await runCli([...args, '--json', '--now', NOW], { DATABASE_URL: db.url, ONTIME_PROFILE: 'advisor-portal', ...env });
  let json: any = null;
  try {
    json = JSON.parse(result.stdout);
  } catch {
    // left null; assertions print stdout/stderr
  }
  return { ...result, json };
}

async function caseRow(knex: Knex, id: number) {
  return knex('cases_case').where({ id }).first();
}

forEachDatabase('advisor-portal profile: release', (db) => {
  before(async () => {
    const { knex, dialect } = db();
    await createAdvisorPortalSchema(knex, dialect);
    const m = await runCli(['migrate'], { DATABASE_URL: db().url, ONTIME_PROFILE: 'advisor-portal' });
    assert.equal(m.code, 0, m.stderr);
  });

  beforeEach(async () => {
    const { knex } = db();
    await clearAdvisorPortal(knex);
    await knex('ontime_audit_log').del();
    await knex('ontime_email_outbox').del();
  });

  test("migrate creates only ontime_ tables, none named like one of the portal's", async () => {
    const { knex, dialect } = db();
    const tables = await tableNames(knex, dialect);
    const own = tables.filter((t) => !ADVISOR_PORTAL_TABLE_NAMES.includes(t));
    assert.ok(own.length > 0);
    for (const t of own) assert.match(t, /^ontime_/, `${t} is not prefixed`);
    for (const name of ADVISOR_PORTAL_TABLE_NAMES) assert.equal(own.includes(`ontime_${name}`), false);
    assert.equal(tables.includes('cases'), false);
  });

  test('releases completed cases whose instant passed, not others; fills date_completed; a notification row unless opted out', async () => {
    const { knex, dialect } = db();
    await insertPortalSettings(knex, dialect, { batch_release_enabled: true, enable_scheduled_releases: false });
    const member = await insertPortalUser(knex, dialect, { username: 'mem' });
    const quiet = await insertPortalUser(knex, dialect, { username: 'quiet', portal_notifications_enabled: false });
    const doneEarly = await insertPortalCase(knex, dialect, { external_case_id: 'C-1', member_id: member, scheduled_release_date: at('2026-06-08T15:29:00Z'), employee_first_name: 'Grace', employee_last_name: 'Hopper' });
    const laterToday = await insertPortalCase(knex, dialect, { external_case_id: 'C-2', member_id: member, scheduled_release_date: at('2026-06-08T15:31:00Z') });
    const inProgress = await insertPortalCase(knex, dialect, { external_case_id: 'C-3', member_id: member, status: 'in_progress', scheduled_release_date: at('2026-06-01T10:00:00Z') });
    const onHold = await insertPortalCase(knex, dialect, { external_case_id: 'C-4', member_id: member, status: 'hold', scheduled_release_date: at('2026-06-01T10:00:00Z') });
    const resumed = await insertPortalCase(knex, dialect, {
      external_case_id: 'C-5', member_id: quiet, scheduled_release_date: at('2026-06-02T10:00:00Z'),
      hold_start_date: at('2026-05-20T10:00:00Z'), hold_end_date: null, hold_duration_days: null,
      date_completed: at('2026-05-30T12:00:00Z'),
    });
    const noMember = await insertPortalCase(knex, dialect, { external_case_id: 'C-6', member_id: null, scheduled_release_date: at('2026-06-02T10:00:00Z') });
    const already = await insertPortalCase(knex, dialect, { external_case_id: 'C-7', member_id: member, scheduled_release_date: at('2026-06-02T10:00:00Z'), actual_release_date: at('2026-06-02T10:00:00Z') });

    const dry = await runPortal(db(), ['release-scheduled-cases', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.json.summary.released, 3);
    assert.equal((await caseRow(knex, doneEarly)).actual_release_date, null, 'a dry run writes nothing');

    const r = await runPortal(db(), ['release-scheduled-cases']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.summary.released, 3);
    assert.equal(r.json.summary.otherStatus, 2);
    const released = (await knex('cases_case').whereNotNull('actual_release_date').orderBy('id')).map((c) => c.external_case_id);
    assert.deepEqual(released, ['C-1', 'C-5', 'C-6', 'C-7']);
    for (const id of [laterToday, inProgress, onHold]) assert.equal((await caseRow(knex, id)).actual_release_date, null);
    assert.equal(iso((await caseRow(knex, doneEarly)).actual_release_date), NOW.replace('Z', '.000Z'));
    assert.equal(iso((await caseRow(knex, doneEarly)).date_completed), NOW.replace('Z', '.000Z'), 'date_completed filled when empty');
    assert.equal(iso((await caseRow(knex, resumed)).date_completed), '2026-05-30T12:00:00.000Z', 'date_completed kept when set');
    assert.equal(iso((await caseRow(knex, already)).actual_release_date), '2026-06-02T10:00:00.000Z');

    const notes = await knex('cases_casenotification').orderBy('id');
    assert.equal(notes.length, 1, 'one row: the opted-out member and the case without member get none');
    assert.equal(Number(notes[0].case_id), doneEarly);
    assert.equal(Number(notes[0].member_id), member);
    assert.equal(notes[0].notification_type, 'case_released');
    assert.equal(notes[0].title, 'Your case for Grace Hopper is completed');
    assert.equal(notes[0].message, 'Your case for Grace Hopper has been completed and is ready for you to review.');
    assert.equal(Boolean(Number(notes[0].is_read)), false);
    void noMember;

    const audit = await knex('ontime_audit_log').where({ action: 'case.released' }).orderBy('subject_id');
    assert.deepEqual(audit.map((a) => Number(a.subject_id)).sort((a, b) => a - b), [doneEarly, resumed, noMember]);

    const again = await runPortal(db(), ['release-scheduled-cases']);
    assert.equal(again.json.summary.released, 0);
    assert.equal((await knex('cases_casenotification')).length, 1);
  });

  test('nothing at all when batch_release_enabled is false (enable_scheduled_releases does not matter)', async () => {
    const { knex, dialect } = db();
    await insertPortalSettings(knex, dialect, { batch_release_enabled: false, enable_scheduled_releases: true });
    const member = await insertPortalUser(knex, dialect, { username: 'mem' });
    const id = await insertPortalCase(knex, dialect, { external_case_id: 'C-1', member_id: member, scheduled_release_date: at('2026-06-01T10:00:00Z') });
    const r = await runPortal(db(), ['release-scheduled-cases']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.summary.disabled, true);
    assert.equal(r.json.summary.released, 0);
    assert.equal((await caseRow(knex, id)).actual_release_date, null);
    assert.equal((await knex('cases_casenotification')).length, 0);
    const human = await runCli(['release-scheduled-cases', '--now', NOW], { DATABASE_URL: db().url, ONTIME_PROFILE: 'advisor-portal' });
    assert.match(human.stdout, /batch_release_enabled is false/);
  });
}, { migrate: false });
