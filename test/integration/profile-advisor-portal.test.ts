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
import { useSmtpServer } from '../helpers/smtp.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { advisorPortalProfile } from '../../src/profiles/advisor-portal.js';
import { BUILT_IN_PROFILES } from '../../src/profiles/index.js';
import { validateProfile } from '../../src/profiles/validate.js';

/** The portal's rule written as an operator's profile file on top of `ontime`: the mechanism is not the built-in's alone. */
function portalAsFile(): Record<string, unknown> {
  const p = advisorPortalProfile;
  return {
    extends: 'ontime', calendarTimezone: p.calendarTimezone, settings: null, cases: p.cases, caseStatusHistory: null,
    surveys: null, surveyResponses: null, legalHolds: null, progress: null, templates: p.templates,
  };
}

test('a profile file may declare a status release rule; a bad value is named (78)', () => {
  const checked = validateProfile(portalAsFile(), BUILT_IN_PROFILES, 'file');
  assert.deepEqual(checked.cases, advisorPortalProfile.cases);
  assert.deepEqual(checked.templates, advisorPortalProfile.templates);
  const bad = (mutate: (c: any) => void, message: RegExp) => {
    const raw: any = structuredClone(portalAsFile());
    mutate(raw.cases.statusRelease);
    assert.throws(() => validateProfile(raw, BUILT_IN_PROFILES, 'file'), (e: Error & { exitCode?: number }) => message.test(e.message));
  };
  bad((r) => (r.switches.release = 'x; drop'), /cases\.statusRelease\.switches\.release: must be an SQL identifier/);
  bad((r) => (r.onRelease[0].values.title = { sql: 'now()' }), /cases\.statusRelease\.onRelease\[0\]\.values\.title: unknown value form sql/);
  bad((r) => (r.recipients.links.extra = 1), /cases\.statusRelease\.recipients\.links\.extra: unknown key/);
  bad((r) => delete r.status, /cases\.statusRelease\.status: is required/);
  const noFields: any = structuredClone(portalAsFile());
  noFields.cases.statusRelease.fields = {};
  assert.throws(() => validateProfile(noFields, BUILT_IN_PROFILES, 'file'), /employee_name/);
});
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

  test('doctor accepts the portal tables and says what each case job touches; a missing column is named (78)', async () => {
    const { knex } = db();
    const env = { DATABASE_URL: db().url, ONTIME_PROFILE: 'advisor-portal', EMAIL_BACKEND: 'console' };
    const doctor = await runCli(['doctor'], env);
    assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
    assert.match(doctor.stdout, /cases_case\.actual_release_date, date_completed \(status completed, instant passed\), inserts into cases_casenotification/);
    assert.match(doctor.stdout, /recipients from accounts_user and accounts_memberdelegate/);
    const moves = await runCli(['weekly-paid-update', '--now', NOW], env);
    assert.equal(moves.code, 78, moves.stdout + moves.stderr);
    assert.match(moves.stderr, /case statuses are words/);
    // The status rule's queries carry no shard predicate: --shard is refused, never ignored.
    for (const job of ['release-scheduled-cases', 'send-scheduled-emails']) {
      const sharded = await runCli([job, '--shard', '0/2', '--now', NOW], env);
      assert.equal(sharded.code, 64, sharded.stdout + sharded.stderr);
      assert.match(sharded.stderr, /--shard is not supported under the advisor-portal profile/);
    }
    await knex.schema.renameTable('accounts_memberdelegate', 'accounts_memberdelegate_old');
    try {
      const broken = await runCli(['doctor'], env);
      assert.equal(broken.code, 78, broken.stdout + broken.stderr);
      assert.match(broken.stdout + broken.stderr, /accounts_memberdelegate/);
    } finally {
      await knex.schema.renameTable('accounts_memberdelegate_old', 'accounts_memberdelegate');
    }
  });

  test('the same rule from ONTIME_PROFILE_FILE releases the same way', async () => {
    const { knex, dialect } = db();
    await insertPortalSettings(knex, dialect, { batch_release_enabled: true });
    const member = await insertPortalUser(knex, dialect, { username: 'mem' });
    const due = await insertPortalCase(knex, dialect, { external_case_id: 'F-1', member_id: member, scheduled_release_date: at('2026-06-08T15:00:00Z') });
    const held = await insertPortalCase(knex, dialect, { external_case_id: 'F-2', member_id: member, status: 'hold', scheduled_release_date: at('2026-06-08T15:00:00Z') });
    const file = join(mkdtempSync(join(tmpdir(), 'portal-profile-')), 'portal.json');
    writeFileSync(file, JSON.stringify(portalAsFile()));
    const r = await runCli(['release-scheduled-cases', '--json', '--now', NOW], { DATABASE_URL: db().url, ONTIME_PROFILE_FILE: file });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(JSON.parse(r.stdout).summary.released, 1);
    assert.notEqual((await caseRow(knex, due)).actual_release_date, null);
    assert.equal((await caseRow(knex, held)).actual_release_date, null);
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

forEachDatabase('advisor-portal profile: mail', (db) => {
  const smtp = useSmtpServer();
  const send = (extra: string[] = []) => runPortal(db(), ['send-scheduled-emails', ...extra], { ...smtp().env(), SITE_URL: 'https://portal.example.org' });

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

  /** A member with two delegates, and cases in each state the sweep must tell apart. */
  async function seed(knex: Knex, dialect: 'sqlite' | 'postgres' | 'mysql', settings: { email_notifications_enabled: boolean }) {
    await insertPortalSettings(knex, dialect, settings);
    const member = await insertPortalUser(knex, dialect, { username: 'mem', email: 'mem@example.test', notification_email: ' reports@example.test ' });
    const d1 = await insertPortalUser(knex, dialect, { username: 'd1', email: 'd1@example.test' });
    const d2 = await insertPortalUser(knex, dialect, { username: 'd2', email: 'd2@example.test', notification_email: 'd2-notes@example.test' });
    await insertMemberDelegate(knex, dialect, member, d1);
    await insertMemberDelegate(knex, dialect, member, d2);
    const released = await insertPortalCase(knex, dialect, {
      external_case_id: 'C-100', member_id: member, employee_first_name: 'Grace', employee_last_name: 'Hopper',
      scheduled_release_date: at('2026-06-01T10:00:00Z'), actual_release_date: at('2026-06-01T10:00:00Z'),
    });
    const mailed = await insertPortalCase(knex, dialect, {
      external_case_id: 'C-101', member_id: member, scheduled_release_date: at('2026-06-01T10:00:00Z'),
      actual_release_date: at('2026-06-01T10:00:00Z'), actual_email_sent_date: at('2026-06-01T10:05:00Z'),
    });
    const notReleased = await insertPortalCase(knex, dialect, { external_case_id: 'C-102', member_id: member, scheduled_release_date: at('2026-06-09T10:00:00Z') });
    return { member, released, mailed, notReleased };
  }

  test('one message to the member (notification_email) and every delegate, the real subject and link, once; an audit row per mail', async () => {
    const { knex, dialect } = db();
    const { released, mailed } = await seed(knex, dialect, { email_notifications_enabled: true });
    const r = await send();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.summary.sent, 1);
    assert.equal(smtp().messages.length, 1);
    const m = smtp().messages[0]!;
    assert.deepEqual([...m.to].sort(), ['d1@example.test', 'd2-notes@example.test', 'reports@example.test']);
    assert.equal(m.subject, 'REPORT: The case for Grace Hopper is ready for you!');
    assert.ok(m.text.includes(`https://portal.example.org/cases/${released}/`), m.text);
    // The instant the server accepted it (ontime's outbox records the real clock, not --now).
    assert.notEqual((await caseRow(knex, released)).actual_email_sent_date, null);
    assert.equal(iso((await caseRow(knex, mailed)).actual_email_sent_date), '2026-06-01T10:05:00.000Z');

    const logs = await knex('core_auditlog').orderBy('id');
    assert.equal(logs.length, 1);
    assert.equal(logs[0].action_type, 'email_notification_sent');
    assert.equal(Number(logs[0].case_id), released);
    assert.equal(logs[0].description, 'Case completed email sent to [reports@example.test, d1@example.test, d2-notes@example.test] for case C-100');
    const meta = typeof logs[0].metadata === 'string' ? JSON.parse(logs[0].metadata) : logs[0].metadata;
    assert.deepEqual(meta, { email_to: 'reports@example.test, d1@example.test, d2-notes@example.test', email_subject: 'REPORT: The case for Grace Hopper is ready for you!', trigger: 'case_completed_released' });

    const again = await send();
    assert.equal(again.code, 0, again.stderr);
    assert.equal(smtp().messages.length, 1, 'sent once');
    assert.equal((await knex('core_auditlog')).length, 1);
  });

  test('notifications off: nothing sent, the waiting cases reported; sent once they are on', async () => {
    const { knex, dialect } = db();
    const { released } = await seed(knex, dialect, { email_notifications_enabled: false });
    const r = await send();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.summary.emailNotificationsDisabled, true);
    assert.equal(r.json.summary.skippedNotificationsDisabled, 1);
    assert.equal(smtp().messages.length, 0);
    assert.equal((await caseRow(knex, released)).actual_email_sent_date, null);
    const human = await runCli(['send-scheduled-emails', '--now', NOW], { DATABASE_URL: db().url, ONTIME_PROFILE: 'advisor-portal', ...smtp().env() });
    assert.match(human.stdout, /email_notifications_enabled is false/);
    assert.match(human.stdout, /Skipped, notifications disabled: 1 released case/);
    await knex('core_systemsettings').update({ email_notifications_enabled: true });
    const on = await send();
    assert.equal(on.json.summary.sent, 1);
    assert.equal(smtp().messages.length, 1);
  });

  test('a released case whose mail failed earlier (4xx) is mailed on the next run; a 5xx is not retried', async () => {
    const { knex, dialect } = db();
    const { released, member } = await seed(knex, dialect, { email_notifications_enabled: true });
    smtp().respondWith(451);
    const first = await send();
    assert.equal(first.json.summary.deferred, 1, first.stdout);
    assert.equal((await caseRow(knex, released)).actual_email_sent_date, null);
    assert.equal((await knex('core_auditlog')).length, 0);
    smtp().respondWith(null);
    const second = await send();
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.json.summary.sent, 1);
    assert.equal(smtp().messages.length, 1);
    assert.notEqual((await caseRow(knex, released)).actual_email_sent_date, null);
    assert.equal((await knex('core_auditlog')).length, 1);

    // ontime's difference from the portal's sweep: a permanent refusal is not retried every run.
    const other = await insertPortalCase(knex, dialect, { external_case_id: 'C-200', member_id: member, actual_release_date: at('2026-06-02T10:00:00Z'), scheduled_release_date: at('2026-06-02T10:00:00Z') });
    smtp().respondWith(550);
    const refused = await send();
    assert.equal(refused.json.summary.failed, 1);
    smtp().respondWith(null);
    const after = await send();
    assert.equal(after.json.summary.failedEarlier, 1);
    assert.equal((await caseRow(knex, other)).actual_email_sent_date, null);
  });
}, { migrate: false });
