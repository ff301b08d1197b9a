/** Profile selection and validation (src/profiles/): pure, no database. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { BUILT_IN_PROFILES, resolveSchema, schemaFor } from '../../src/profiles/index.js';
import { validateProfile } from '../../src/profiles/validate.js';
import { quoteIdent } from '../../src/db/schema.js';

const dir = mkdtempSync(join(tmpdir(), 'ontime-profiles-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

/** The ConfigError (exit 78) a call throws; fails when it throws nothing. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.exitCode, 78);
    return err;
  }
  assert.fail('expected a ConfigError');
}

test('no setting: the ontime profile with today\'s table names and the UTC calendar', () => {
  const s = resolveSchema({}, dir);
  assert.equal(s.profile.name, 'ontime');
  assert.equal(s.prefix, '');
  assert.deepEqual(s.own, {
    jobRuns: 'job_runs', jobLocks: 'job_locks', emailOutbox: 'email_outbox', auditLog: 'audit_log',
    settings: 'system_settings', deletionWarnings: 'survey_deletion_warnings', caseStatusHistory: 'case_status_history', migrations: 'knex_migrations',
  });
  assert.equal(s.settings.table, 'system_settings');
  assert.equal(s.profile.calendarTimezone, 'UTC');
  assert.equal(loadConfig({}, dir).schema.profile.name, 'ontime');
});

test('checktick: ontime_ prefix by default, its own settings table, an explicit prefix wins', () => {
  const s = resolveSchema({ ONTIME_PROFILE: 'checktick' }, dir);
  assert.equal(s.prefix, 'ontime_');
  assert.equal(s.own.jobRuns, 'ontime_job_runs');
  assert.equal(s.own.migrations, 'ontime_knex_migrations');
  assert.equal(s.settings.table, 'ontime_system_settings');
  assert.equal(s.profile.surveys!.table, 'surveys_survey');
  assert.equal(resolveSchema({ ONTIME_PROFILE: 'checktick', ONTIME_TABLE_PREFIX: 'ot_' }, dir).own.auditLog, 'ot_audit_log');
});

test('unknown profile, both variables, a bad prefix or zone: 78 naming the variable', () => {
  assert.match(configError(() => resolveSchema({ ONTIME_PROFILE: 'django' }, dir)).message, /ONTIME_PROFILE "django"/);
  assert.match(configError(() => resolveSchema({ ONTIME_PROFILE: 'ontime', ONTIME_PROFILE_FILE: 'x.yaml' }, dir)).message, /both ONTIME_PROFILE and ONTIME_PROFILE_FILE/);
  assert.match(configError(() => resolveSchema({ ONTIME_TABLE_PREFIX: 'a-b' }, dir)).message, /ONTIME_TABLE_PREFIX/);
  assert.match(configError(() => resolveSchema({ ONTIME_CALENDAR_TIMEZONE: 'Mars/Olympus' }, dir)).message, /ONTIME_CALENDAR_TIMEZONE/);
  assert.match(configError(() => loadConfig({ ONTIME_PROFILE: 'nope' }, dir)).message, /ONTIME_PROFILE/);
});

test('ONTIME_CALENDAR_TIMEZONE overrides the profile\'s calendar', () => {
  assert.equal(resolveSchema({ ONTIME_PROFILE: 'checktick', ONTIME_CALENDAR_TIMEZONE: 'America/Chicago' }, dir).profile.calendarTimezone, 'America/Chicago');
});

test('a prefix that makes an own table one of the application\'s is refused', () => {
  const p = file('clash.json', JSON.stringify({ extends: 'checktick', surveys: { table: 'ontime_audit_log' } }));
  assert.match(configError(() => resolveSchema({ ONTIME_PROFILE_FILE: p }, dir)).message, /ontime_audit_log/);
});

test('a YAML file extends a built-in and overrides what differs', () => {
  const p = file(
    'app.yaml',
    ['extends: checktick', 'name: myapp', 'calendarTimezone: Europe/Paris', 'surveys:', '  table: app_survey', 'progress:', '  accessToken: token_id', 'rules:', '  progressStaleDays: 60', '  warningsSince: 2026-12-01T00:00:00Z'].join('\n'),
  );
  const s = resolveSchema({ ONTIME_PROFILE_FILE: p }, dir);
  assert.equal(s.profile.name, 'myapp');
  assert.equal(s.profile.createsApplicationTables, false);
  assert.equal(s.prefix, 'ontime_');
  assert.equal(s.profile.surveys!.table, 'app_survey');
  assert.equal(s.profile.surveys!.hardDeletionDate, 'hard_deletion_date', 'inherited');
  assert.deepEqual(s.profile.progress, { table: 'surveys_surveyprogress', accessToken: 'token_id' });
  assert.equal(s.profile.rules.progressStaleDays, 60);
  assert.equal(s.profile.rules.warningsSince, '2026-12-01T00:00:00.000Z');
  assert.equal(s.profile.calendarTimezone, 'Europe/Paris');
});

test('JSON files; a file extending ontime still never creates application tables', () => {
  const p = file('o.json', JSON.stringify({ name: 'mine', cases: { table: 'app_cases' } }));
  const s = resolveSchema({ ONTIME_PROFILE_FILE: p }, dir);
  assert.equal(s.profile.createsApplicationTables, false);
  assert.equal(s.profile.cases!.table, 'app_cases');
  assert.equal(s.prefix, 'ontime_');
});

test('each invalid key is named in the error', () => {
  const bad: Array<[unknown, RegExp]> = [
    [[], /\(top level\)/],
    [{ extends: 'rails' }, /extends: must name a built-in/],
    [{ tables: {} }, /tables: unknown key/],
    [{ surveys: { table: 'x; DROP TABLE y' } }, /surveys\.table: must be an SQL identifier/],
    [{ surveys: { tabel: 'x' } }, /surveys\.tabel: unknown key/],
    [{ surveys: { table: 'x"y' } }, /surveys\.table/],
    [{ rules: { surveysEligible: 'open' } }, /rules\.surveysEligible: must be one of any, closed/],
    [{ rules: { hardDeleteAfterDays: 0 } }, /rules\.hardDeleteAfterDays: must be a whole number/],
    [{ rules: { progressKindOrder: ['user', 'user', 'token'] } }, /rules\.progressKindOrder/],
    [{ rules: { warningsSince: 'yesterday' } }, /rules\.warningsSince/],
    [{ calendarTimezone: 'Nowhere/Place' }, /calendarTimezone/],
    [{ surveys: { owner: { kind: 'user', table: 'auth_user' } } }, /surveys\.owner\.ownerId: is required/],
    [{ surveys: { owner: { kind: 'columns', email: 'e', id: 'x' } } }, /surveys\.owner\.id: unknown key/],
    [{ surveys: { owner: { kind: 'ldap' } } }, /surveys\.owner\.kind: must be one of columns, user/],
    [{ rules: { surveysEligible: 'closed' } }, /surveys\.closedAt: is required by rules\.surveysEligible: closed/],
    [{ extends: 'checktick', surveys: { hardDeletionDate: null } }, /surveys\.hardDeletionDate: is required by rules\.hardDeletion/],
    [{ surveys: null }, /surveys: is null but surveyResponses/],
    [{ createsApplicationTables: true }, /createsApplicationTables: cannot be set/],
    [{ extends: 'checktick', cases: { title: 't' } }, /cases\.title: unknown key/],
    [{ extends: 'checktick', cases: {} }, /cases\.table: is required/],
  ];
  for (const [raw, message] of bad) {
    assert.match(configError(() => validateProfile(raw, BUILT_IN_PROFILES, 'f')).message, message, JSON.stringify(raw));
  }
});

test('a file that does not parse: 78 naming the file', () => {
  const p = file('broken.yaml', 'surveys: [unclosed');
  assert.match(configError(() => resolveSchema({ ONTIME_PROFILE_FILE: p }, dir)).message, /ONTIME_PROFILE_FILE: .*broken\.yaml is not valid YAML/);
  assert.match(configError(() => resolveSchema({ ONTIME_PROFILE_FILE: join(dir, 'missing.json') }, dir)).message, /cannot read/);
});

test('identifiers are quoted per dialect, schema-qualified names part by part', () => {
  assert.equal(quoteIdent('postgres', 'app.surveys_survey'), '"app"."surveys_survey"');
  assert.equal(quoteIdent('mysql', 'surveys_survey'), '`surveys_survey`');
  assert.equal(schemaFor(BUILT_IN_PROFILES.ontime!, 'x_').own.jobRuns, 'x_job_runs');
});
