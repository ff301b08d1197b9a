/**
 * The checktick profile on CheckTick's own tables (DDL written here from checktick_app/surveys/
 * models.py, in Django's constraint style: no ON DELETE action, DEFERRABLE INITIALLY DEFERRED on
 * PostgreSQL and SQLite): `ontime migrate` adds only ontime's prefixed tables; data governance
 * warns and soft-deletes closed surveys only, sets and uses hard_deletion_date, honours the
 * one-row-per-survey legal hold, reports an owner without an address; progress cleanup applies the
 * 90-day safety net and counts user/token/session; a second run and a dry run change nothing.
 *
 * The first suite creates only the tables the jobs name (responses, progress, access tokens, legal
 * hold); the second uses CheckTick's full schema (test/helpers/checktick-schema.ts: every table
 * with a foreign key to the survey, Django's constraint style) for the foreign-key-aware hard
 * deletion.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { Knex } from 'knex';
import type { Dialect } from '../../src/config.js';
import { fromDbInstant } from '../../src/db/time.js';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { DAY, HOUR, instant } from '../helpers/fixtures.js';
import { useSmtpServer } from '../helpers/smtp.js';
import { CHECKTICK_TABLES, createCheckTickSchema, seedCheckTickSurvey } from '../helpers/checktick-schema.js';

const NOW = new Date('2026-06-01T02:00:00Z');
const at = (ms: number) => new Date(NOW.getTime() + ms);

const APP_TABLES = ['auth_user', 'surveys_survey', 'surveys_surveyaccesstoken', 'surveys_surveyresponse', 'surveys_legalhold', 'surveys_surveyprogress'];

/** CheckTick's tables as Django creates them (the columns the jobs touch, and a few they do not). */
function ddl(dialect: Dialect): string[] {
  const pk = dialect === 'postgres' ? 'bigserial PRIMARY KEY' : dialect === 'mysql' ? 'bigint AUTO_INCREMENT PRIMARY KEY' : 'integer PRIMARY KEY AUTOINCREMENT';
  const ts = dialect === 'postgres' ? 'timestamp with time zone' : dialect === 'mysql' ? 'datetime(6)' : 'datetime';
  const fk = (table: string) => `REFERENCES ${table} (id)${dialect === 'mysql' ? '' : ' DEFERRABLE INITIALLY DEFERRED'}`;
  const big = 'bigint';
  return [
    `CREATE TABLE auth_user (id ${pk}, username varchar(150) NOT NULL UNIQUE, email varchar(254) NOT NULL, password varchar(128) NOT NULL)`,
    `CREATE TABLE surveys_survey (id ${pk}, name varchar(255) NOT NULL, slug varchar(50) NOT NULL, owner_id ${big} NOT NULL ${fk('auth_user')},
      status varchar(20) NOT NULL, created_at ${ts} NOT NULL, closed_at ${ts} NULL, retention_months integer NOT NULL,
      deletion_date ${ts} NULL, deleted_at ${ts} NULL, hard_deletion_date ${ts} NULL, translated_from_id ${big} NULL ${fk('surveys_survey')})`,
    `CREATE TABLE surveys_surveyaccesstoken (id ${pk}, survey_id ${big} NOT NULL ${fk('surveys_survey')}, token varchar(64) NOT NULL, created_at ${ts} NOT NULL)`,
    `CREATE TABLE surveys_surveyresponse (id ${pk}, survey_id ${big} NOT NULL ${fk('surveys_survey')}, submitted_at ${ts} NOT NULL, answers text NOT NULL)`,
    `CREATE TABLE surveys_legalhold (id ${pk}, survey_id ${big} NOT NULL UNIQUE ${fk('surveys_survey')}, reason text NOT NULL, placed_at ${ts} NOT NULL, removed_at ${ts} NULL)`,
    `CREATE TABLE surveys_surveyprogress (id ${pk}, survey_id ${big} NOT NULL ${fk('surveys_survey')}, user_id ${big} NULL ${fk('auth_user')},
      session_key varchar(64) NOT NULL, access_token_id ${big} NULL ${fk('surveys_surveyaccesstoken')}, partial_answers text NOT NULL,
      updated_at ${ts} NOT NULL, expires_at ${ts} NOT NULL)`,
  ];
}

async function columnsOf(knex: Knex): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of APP_TABLES) out[t] = Object.keys(await knex(t).columnInfo()).sort();
  return out;
}

async function appChecksum(knex: Knex): Promise<string> {
  const parts: string[] = [];
  for (const t of APP_TABLES) parts.push(t + JSON.stringify(await knex(t).select('*').orderBy('id')));
  return parts.join('\n');
}

forEachDatabase(
  'profile checktick',
  (db) => {
    const smtp = useSmtpServer();
    const env = (extra: Record<string, string> = {}) => ({ DATABASE_URL: db().url, SITE_URL: 'https://checktick.example.org', ONTIME_PROFILE: 'checktick', ...smtp().env(), ...extra });
    let columnsBefore: Record<string, string[]>;

    before(async () => {
      const { knex, dialect } = db();
      for (const statement of ddl(dialect)) await knex.raw(statement);
      columnsBefore = await columnsOf(knex);
      const r = await runCli(['migrate'], env());
      assert.equal(r.code, 0, r.stderr);
    });

    test('ontime migrate creates only ontime_-prefixed tables and leaves the application tables as they were', async () => {
      const { knex } = db();
      assert.deepEqual(await columnsOf(knex), columnsBefore);
      for (const own of ['ontime_job_runs', 'ontime_job_locks', 'ontime_email_outbox', 'ontime_audit_log', 'ontime_system_settings', 'ontime_survey_deletion_warnings', 'ontime_knex_migrations']) {
        assert.ok(await knex.schema.hasTable(own), `${own} created`);
      }
      for (const plain of ['job_runs', 'surveys', 'survey_progress', 'cases', 'system_settings', 'knex_migrations', 'survey_deletion_warnings']) {
        assert.equal(await knex.schema.hasTable(plain), false, `${plain} not created`);
      }
      const again = await runCli(['migrate'], env());
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /up to date/);
    });

    test('data governance: closed surveys only, hard_deletion_date set and used, legal holds, an owner without address', async () => {
      const { knex, dialect } = db();
      const ts = (d: Date | null) => instant(dialect, d);
      const [alice] = await knex('auth_user').insert({ username: 'alice', email: 'alice@example.test', password: '!' }, ['id']);
      const aliceId = Number(typeof alice === 'object' ? alice.id : alice);
      const [bob] = await knex('auth_user').insert({ username: 'bob', email: '', password: '!' }, ['id']);
      const bobId = Number(typeof bob === 'object' ? bob.id : bob);
      const ids: Record<string, number> = {};
      const survey = async (key: string, v: { closed?: boolean; owner?: number; deletion?: Date | null; deleted?: Date | null; hard?: Date | null }) => {
        const [row] = await knex('surveys_survey').insert(
          {
            name: `Survey ${key}`,
            slug: key.toLowerCase(),
            owner_id: v.owner ?? aliceId,
            status: v.closed === false ? 'published' : 'closed',
            created_at: ts(at(-200 * DAY)),
            closed_at: v.closed === false ? null : ts(at(-100 * DAY)),
            retention_months: 6,
            deletion_date: ts(v.deletion ?? null),
            deleted_at: ts(v.deleted ?? null),
            hard_deletion_date: ts(v.hard ?? null),
          },
          ['id'],
        );
        ids[key] = Number(typeof row === 'object' ? row.id : row);
        return ids[key]!;
      };
      await survey('A30', { deletion: at(20 * DAY) });
      await survey('B7', { deletion: at(5 * DAY) });
      await survey('C1', { deletion: at(10 * HOUR) });
      await survey('Reopened', { closed: false, deletion: at(-2 * DAY) });
      await survey('OpenSoon', { closed: false, deletion: at(20 * DAY) });
      await survey('Due', { deletion: at(-1 * DAY) });
      await survey('HeldDue', { deletion: at(-1 * DAY) });
      await survey('NoAddress', { owner: bobId, deletion: at(5 * DAY) });
      await survey('Hard', { deletion: at(-40 * DAY), deleted: at(-31 * DAY), hard: at(-1 * DAY) });
      await survey('HeldHard', { deletion: at(-40 * DAY), deleted: at(-31 * DAY), hard: at(-1 * DAY) });
      await survey('NoHardDate', { deletion: at(-90 * DAY), deleted: at(-60 * DAY) });
      await survey('NotYet', { deletion: at(-20 * DAY), deleted: at(-25 * DAY), hard: at(5 * DAY) });
      const hold = (key: string, removed: boolean) =>
        knex('surveys_legalhold').insert({ survey_id: ids[key], reason: 'litigation', placed_at: ts(at(-300 * DAY)), removed_at: removed ? ts(at(-200 * DAY)) : null });
      await hold('HeldDue', false);
      await hold('HeldHard', false);
      await hold('Hard', true);
      for (let i = 0; i < 3; i++) await knex('surveys_surveyresponse').insert({ survey_id: ids.Hard, submitted_at: ts(at(-150 * DAY)), answers: '{}' });
      await knex('surveys_surveyprogress').insert({ survey_id: ids.Hard, user_id: aliceId, session_key: '', access_token_id: null, partial_answers: '{}', updated_at: ts(at(-1 * DAY)), expires_at: ts(at(DAY)) });
      await knex('surveys_surveyresponse').insert({ survey_id: ids.HeldHard, submitted_at: ts(at(-150 * DAY)), answers: '{}' });

      // ontime took over long before: every threshold below is ontime's to warn about.
      await knex('ontime_system_settings').insert({ key: 'governance.warnings_since', value: at(-60 * DAY).toISOString(), updated_at: ts(NOW) });
      const base = ['process-data-governance', '--now', NOW.toISOString(), '--json'];
      const before_ = await appChecksum(knex);
      const dry = await runCli([...base, '--dry-run'], env());
      assert.equal(dry.code, 0, dry.stderr);
      assert.equal(await appChecksum(knex), before_, 'a dry run writes nothing');
      assert.equal(Number((await knex('ontime_survey_deletion_warnings').count({ n: '*' }))[0]!.n), 0);
      assert.equal(smtp().messages.length, 0);

      const r = await runCli(base, env());
      const s = JSON.parse(r.stdout).summary;
      // The owner without an address is reported (warningsInvalidEmail) and skipped, as under the ontime profile.
      assert.equal(r.code, 0, r.stderr);
      assert.match(JSON.stringify(s), /warningsInvalidEmail":1/);
      assert.deepEqual(
        [s.warningsSent, s.warnings30, s.warnings7, s.warnings1, s.warningsInvalidEmail, s.softDeleted, s.hardDeleted, s.skippedLegalHold],
        [3, 1, 1, 1, 1, 1, 1, 2],
      );
      assert.deepEqual(smtp().messages.map((m) => m.to.join(',')).sort(), ['alice@example.test', 'alice@example.test', 'alice@example.test']);
      assert.match(smtp().messages[0]!.text, /alice/);

      const row = async (key: string) => knex('surveys_survey').where({ id: ids[key] }).first();
      // A reopened survey keeps its past deletion_date and is neither warned nor soft-deleted.
      assert.equal((await row('Reopened')).deleted_at, null);
      assert.equal((await row('HeldDue')).deleted_at, null);
      const due = await row('Due');
      assert.equal(fromDbInstant(due.deleted_at)!.getTime(), NOW.getTime());
      assert.equal(fromDbInstant(due.hard_deletion_date)!.getTime(), at(30 * DAY).getTime());
      // Hard deletion: the survey and every child row gone, the transaction committed.
      assert.equal(await row('Hard'), undefined);
      for (const t of ['surveys_surveyresponse', 'surveys_surveyprogress', 'surveys_legalhold']) {
        assert.equal(Number((await knex(t).where({ survey_id: ids.Hard }).count({ n: '*' }))[0]!.n), 0, `${t} emptied`);
      }
      assert.ok(await row('HeldHard'), 'an active hold protects at hard deletion');
      assert.ok(await row('NoHardDate'), 'no hard_deletion_date: never hard-deleted');
      assert.ok(await row('NotYet'));
      const warned = await knex('ontime_survey_deletion_warnings').select('survey_id', 'days_before').orderBy('survey_id');
      assert.deepEqual(
        warned.map((w: { survey_id: unknown; days_before: unknown }) => [Number(w.survey_id), Number(w.days_before)]),
        [[ids.A30, 30], [ids.B7, 7], [ids.C1, 1]],
      );
      const audit = await knex('ontime_audit_log').where({ action: 'survey.hard_deleted' });
      assert.equal(audit.length, 1);

      smtp().messages.length = 0;
      const second = await runCli(base, env());
      const s2 = JSON.parse(second.stdout).summary;
      assert.deepEqual([s2.warningsSent, s2.softDeleted, s2.hardDeleted], [0, 0, 0]);
      assert.equal(smtp().messages.length, 0, 'a second run sends nothing');
    });

    test('progress cleanup: expired rows and rows untouched for 90 days, counted user / token / session', async () => {
      const { knex, dialect } = db();
      const ts = (d: Date) => instant(dialect, d);
      const [u] = await knex('auth_user').insert({ username: 'carol', email: 'carol@example.test', password: '!' }, ['id']);
      const userId = Number(typeof u === 'object' ? u.id : u);
      const [s] = await knex('surveys_survey').insert(
        { name: 'P', slug: 'p', owner_id: userId, status: 'published', created_at: ts(at(-DAY)), retention_months: 6 },
        ['id'],
      );
      const surveyId = Number(typeof s === 'object' ? s.id : s);
      const [tok] = await knex('surveys_surveyaccesstoken').insert({ survey_id: surveyId, token: 't', created_at: ts(at(-DAY)) }, ['id']);
      const tokenId = Number(typeof tok === 'object' ? tok.id : tok);
      const progress = (v: { user?: number; session?: string; token?: number; updated: Date; expires: Date }) =>
        knex('surveys_surveyprogress').insert({
          survey_id: surveyId,
          user_id: v.user ?? null,
          session_key: v.session ?? '',
          access_token_id: v.token ?? null,
          partial_answers: '{}',
          updated_at: ts(v.updated),
          expires_at: ts(v.expires),
        });
      await progress({ user: userId, session: 'x', updated: at(-2 * DAY), expires: at(-HOUR) });
      // Token before session: a row with both is a token row.
      await progress({ session: 'y', token: tokenId, updated: at(-100 * DAY), expires: at(300 * DAY) });
      await progress({ session: 'z', updated: at(-3 * DAY), expires: at(-1000) });
      await progress({ session: 'kept', updated: at(-10 * DAY), expires: at(300 * DAY) });
      const before_ = await appChecksum(knex);
      const dry = await runCli(['cleanup-survey-progress', '--now', NOW.toISOString(), '--json', '--dry-run'], env());
      assert.equal(dry.code, 0, dry.stderr);
      assert.equal(await appChecksum(knex), before_);
      const r = await runCli(['cleanup-survey-progress', '--now', NOW.toISOString(), '--json'], env());
      assert.equal(r.code, 0, r.stderr);
      const sum = JSON.parse(r.stdout).summary;
      assert.deepEqual([sum.deleted, sum.authenticated, sum.token, sum.anonymous, sum.olderThanDays], [3, 1, 1, 1, 90]);
      const left = await knex('surveys_surveyprogress').select('session_key');
      assert.deepEqual(left.map((x: { session_key: string }) => x.session_key), ['kept']);
      const again = await runCli(['cleanup-survey-progress', '--now', NOW.toISOString(), '--json'], env());
      assert.equal(JSON.parse(again.stdout).summary.deleted, 0);
    });

    test('the cut-over: the first run records the warnings that fell due before it as sent by the application, and mails none', async () => {
      const { knex, dialect } = db();
      const ts = (d: Date | null) => instant(dialect, d);
      await knex('ontime_system_settings').where({ key: 'governance.warnings_since' }).del();
      const T = at(100 * DAY);
      const later = (ms: number) => new Date(T.getTime() + ms);
      const [u] = await knex('auth_user').insert({ username: 'dave', email: 'dave@example.test', password: '!' }, ['id']);
      const dave = Number(typeof u === 'object' ? u.id : u);
      const add = async (name: string, deletion: Date) => {
        const [row] = await knex('surveys_survey').insert(
          { name, slug: name, owner_id: dave, status: 'closed', created_at: ts(at(0)), closed_at: ts(at(0)), retention_months: 6, deletion_date: ts(deletion) },
          ['id'],
        );
        return Number(typeof row === 'object' ? row.id : row);
      };
      const x = await add('x', later(5 * DAY));
      const y = await add('y', later(40 * DAY));
      const toDave = () => smtp().messages.filter((m) => m.to.includes('dave@example.test'));

      const dry = await runCli(['process-data-governance', '--now', T.toISOString(), '--json', '--dry-run'], env());
      assert.equal(dry.code, 0, dry.stderr);
      assert.equal(await knex('ontime_system_settings').where({ key: 'governance.warnings_since' }).first(), undefined, 'a dry run records no cut-over');

      const first = await runCli(['process-data-governance', '--now', T.toISOString(), '--json'], env());
      assert.equal(first.code, 0, first.stderr);
      assert.equal(JSON.parse(first.stdout).summary.warningsSentByApplication, 1);
      assert.equal(toDave().length, 0, 'the 7-day warning of x fell due before the cut-over: the application sent it');
      const recorded = await knex('ontime_survey_deletion_warnings').where({ survey_id: x });
      assert.deepEqual(recorded.map((r: { days_before: unknown }) => Number(r.days_before)), [7]);
      const cut = await knex('ontime_system_settings').where({ key: 'governance.warnings_since' }).first('value');
      assert.equal(cut.value, T.toISOString());

      const next = await runCli(['process-data-governance', '--now', later(11 * DAY).toISOString(), '--json'], env());
      assert.equal(next.code, 0, next.stderr);
      assert.equal(toDave().length, 1, "y's 30-day warning fell due after the cut-over: ontime sends it");
      assert.match(toDave()[0]!.text, new RegExp(`/surveys/${y}/`));
    });

    test('history, status and locks read the prefixed tables', async () => {
      const r = await runCli(['history'], env());
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /process-data-governance/);
      assert.match(r.stdout, /cleanup-survey-progress/);
      const l = await runCli(['locks'], env());
      assert.equal(l.code, 0, l.stderr);
      for (const args of [['status'], ['report', 'governance', '--from', '2026-05-01', '--to', '2026-06-30'], ['prune-history', '--dry-run'], ['check'], ['why', 'cleanup-survey-progress']]) {
        const r2 = await runCli(args, env());
        assert.ok([0, 1, 2, 3].includes(r2.code), `${args.join(' ')}: exit ${r2.code} ${r2.stderr}`);
        assert.doesNotMatch(r2.stderr, /no such table|does not exist|doesn't exist/, args.join(' '));
      }
      const report = await runCli(['report', 'governance', '--from', '2026-05-01', '--to', '2026-06-30', '--format', 'csv'], env());
      assert.match(report.stdout, /2026-06-01/);
    });

    test('doctor checks the profile against the live tables and prints what each job touches', async () => {
      const ok = await runCli(['doctor'], env({ EMAIL_BACKEND: 'console' }));
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /profile: checktick/);
      assert.match(ok.stdout, /process-data-governance: warns closed surveys of surveys_survey \(owner address from auth_user\.email/);
      assert.match(ok.stdout, /cleanup-survey-progress: deletes from surveys_surveyprogress/);
      const { mkdtempSync, writeFileSync } = await import('node:fs');
      const { join } = await import('node:path');
      const { tmpdir } = await import('node:os');
      const file = join(mkdtempSync(join(tmpdir(), 'ontime-profile-')), 'wrong.json');
      writeFileSync(file, JSON.stringify({ extends: 'checktick', progress: { accessToken: 'access_token' } }));
      const { ONTIME_PROFILE: _, ...rest } = env({ EMAIL_BACKEND: 'console', ONTIME_PROFILE_FILE: file });
      const bad = await runCli(['doctor'], rest);
      assert.equal(bad.code, 78, bad.stdout);
      assert.match(bad.stdout, /surveys_surveyprogress\.access_token does not exist/);
    });

    test('the case jobs have nothing to map under checktick: a configuration error naming the profile', async () => {
      const r = await runCli(['release-scheduled-cases', '--now', NOW.toISOString()], env());
      assert.equal(r.code, 78, r.stdout + r.stderr);
      assert.match(r.stderr, /checktick.*cases/);
    });
  },
  { migrate: false },
);

forEachDatabase(
  'profile checktick, full CheckTick schema',
  (db) => {
    const smtp = useSmtpServer();
    const env = () => ({ DATABASE_URL: db().url, ONTIME_PROFILE: 'checktick', ...smtp().env() });

    test('hard deletion empties every referencing table leaf-first, unlinks translations, honours legal holds, and commits', async () => {
      const { knex, dialect } = db();
      await createCheckTickSchema(knex, dialect);
      const m = await runCli(['migrate'], env());
      assert.equal(m.code, 0, m.stderr);
      const a = await seedCheckTickSurvey(knex, dialect, { key: 'a' });
      const held = await seedCheckTickSurvey(knex, dialect, { key: 'b', hold: 'active' });
      const translation = await seedCheckTickSurvey(knex, dialect, { key: 'c', translatedFrom: a.surveyId, hardDeletionDate: null });
      const d = await seedCheckTickSurvey(knex, dialect, { key: 'd', hold: 'removed' });
      // The fixture binds Dates, which SQLite would keep as epoch numbers; CheckTick (Django)
      // writes its text form, which is what ontime reads.
      const seeded = instant(dialect, new Date('2026-11-01T00:00:00Z'));
      await knex('surveys_survey').update({ deletion_date: seeded, deleted_at: seeded, closed_at: seeded });
      await knex('surveys_survey').whereNotNull('hard_deletion_date').update({ hard_deletion_date: seeded });
      await knex('surveys_legalhold').whereNotNull('removed_at').update({ removed_at: seeded });
      const tables = CHECKTICK_TABLES.map((t) => t.name);
      const countAll = async () => {
        const out: Record<string, number> = {};
        for (const t of tables) out[t] = Number((await knex(t).count({ n: '*' }))[0]!.n);
        return out;
      };
      const before_ = await countAll();

      const r = await runCli(['process-data-governance', '--now', '2026-11-02T00:00:00Z', '--json'], env());
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const s = JSON.parse(r.stdout).summary;
      assert.equal(s.hardDeleted, 2);
      assert.equal(s.skippedLegalHold, 1);

      const after_ = await countAll();
      for (const t of tables) {
        assert.equal(after_[t], before_[t]! - (a.rows[t] ?? 0) - (d.rows[t] ?? 0), `${t}: exactly the rows of the two deleted surveys are gone`);
      }
      assert.ok(await knex('surveys_survey').where({ id: held.surveyId }).first(), 'the held survey stays');
      const tr = await knex('surveys_survey').where({ id: translation.surveyId }).first('translated_from_id');
      assert.equal(tr.translated_from_id, null, 'the translation survives, unlinked');
      const audit = await knex('ontime_audit_log').where({ action: 'survey.hard_deleted', subject_id: String(a.surveyId) }).first('details');
      const details = JSON.parse(audit.details);
      for (const [t, n] of Object.entries(a.rows)) {
        if (t !== 'surveys_survey') assert.equal(details.tables[t], n, `audit count for ${t}`);
      }
      const again = await runCli(['process-data-governance', '--now', '2026-11-02T00:00:00Z', '--json'], env());
      assert.equal(JSON.parse(again.stdout).summary.hardDeleted, 0);
      const doc = await runCli(['doctor'], { ...env(), EMAIL_BACKEND: 'console' });
      // (doctor also reports the fixture's epoch-number instants on SQLite: not asserted here.)
      assert.match(doc.stdout, /hard deletion of a surveys_survey row deletes from \d+ referencing tables leaf-first, setting .*surveys_survey\.translated_from_id.* to null first/);
    });
  },
  { migrate: false },
);
