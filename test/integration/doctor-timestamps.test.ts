/**
 * doctor on SQLite finds instants and days written in another spelling (what a Node or Rails
 * program writes) in the columns the jobs compare as text, exits 78 while they remain, and
 * `--fix-timestamps --yes` rewrites them to the same instant in the canonical form; unreadable
 * values are listed and never changed. On PostgreSQL and MariaDB instants are typed: nothing to do.
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { insertSurvey } from '../helpers/fixtures.js';
import { canonicalForm } from '../../src/db/timestamp-forms.js';

interface Finding {
  check: string;
  level: string;
  message: string;
  fix?: string;
}

test('canonical forms: same instant, microseconds kept, unreadable is null', () => {
  assert.equal(canonicalForm('2026-07-10T12:00:00Z', 'instant'), '2026-07-10 12:00:00');
  assert.equal(canonicalForm('2026-07-10 12:00:00.000', 'instant'), '2026-07-10 12:00:00');
  assert.equal(canonicalForm('2026-07-10T14:30:00.5+02:00', 'instant'), '2026-07-10 12:30:00.500000');
  assert.equal(canonicalForm('2026-07-10T00:15:00.123456789-0130', 'instant'), '2026-07-10 01:45:00.123456');
  assert.equal(canonicalForm('2026-07-10 12:00', 'instant'), '2026-07-10 12:00:00');
  assert.equal(canonicalForm('2026-07-10 00:00:00', 'day'), '2026-07-10');
  for (const bad of ['next tuesday', '2026-02-30 10:00:00', '2026-07-10 25:00:00', '1752148800']) assert.equal(canonicalForm(bad, 'instant'), null, bad);
  assert.equal(canonicalForm(1752148800, 'instant'), null, 'a number is not guessed at (seconds or milliseconds?)');
});

forEachDatabase('doctor and timestamp spellings', (db) => {
  beforeEach(async () => db().reset());
  const doctor = async (...args: string[]) => {
    const r = await runCli(['doctor', '--json', ...args], { DATABASE_URL: db().url, EMAIL_BACKEND: 'console' });
    const parsed = r.stdout ? JSON.parse(r.stdout) : { findings: [] };
    return { ...r, timestamps: (parsed.findings as Finding[]).filter((f) => f.check === 'timestamps') };
  };

  test('found, reported with table, column, count and example; fixed in place; unreadable values left and listed', async () => {
    const { knex, dialect } = db();
    if (dialect !== 'sqlite') {
      const r = await doctor('--fix-timestamps', '--yes');
      assert.equal(r.code, 0, r.stdout);
      assert.match(r.timestamps[0]!.message, /nothing to do/);
      return;
    }
    const survey = await insertSurvey(knex, dialect);
    await knex('surveys').where({ id: survey }).update({ deletion_date: '2026-07-10T12:00:00Z', closed_at: '2026-01-10 12:00:00.123456' });
    const other = await insertSurvey(knex, dialect);
    await knex('surveys').where({ id: other }).update({ deletion_date: '2026-07-11 08:00:00.000' });
    await knex('survey_progress').insert([
      { survey_id: survey, session_key: 'a', data: '{}', expires_at: '2026-07-10 12:00:00.000000' },
      { survey_id: survey, session_key: 'b', data: '{}', expires_at: '2026-07-10 12:00:00' },
    ]);
    await knex('survey_legal_holds').insert({ survey_id: survey, reason: 'x', placed_at: 'next tuesday' });
    await knex('survey_deletion_warnings').insert({ survey_id: survey, days_before: 30, deletion_date: '2026-07-10T14:00:00+02:00' });
    await knex('cases').insert({ reference: 'C-1', title: 't', status: 10, scheduled_release_date: '2026-07-10 00:00:00' });

    const seen = await doctor();
    assert.equal(seen.code, 78, seen.stdout);
    const messages = seen.timestamps.map((f) => f.message);
    assert.ok(messages.some((m) => /^surveys\.deletion_date: 2 values not in the canonical form YYYY-MM-DD HH:MM:SS\[\.ffffff\] \(UTC\), e\.g\. "2026-07-1/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /^survey_progress\.expires_at: 1 value not in the canonical form .*"2026-07-10 12:00:00\.000000"/.test(m)));
    assert.ok(messages.some((m) => /^cases\.scheduled_release_date: 1 value not in the canonical form YYYY-MM-DD, e\.g\. "2026-07-10 00:00:00"/.test(m)));
    assert.ok(messages.some((m) => /^survey_legal_holds\.placed_at: 1 value/.test(m)));
    assert.ok(!messages.some((m) => /closed_at/.test(m)), 'Django\'s microseconds are canonical');
    assert.match(seen.timestamps[0]!.fix!, /ontime doctor --fix-timestamps --yes/);

    const unconfirmed = await runCli(['doctor', '--fix-timestamps'], { DATABASE_URL: db().url });
    assert.equal(unconfirmed.code, 64);
    assert.match(unconfirmed.stderr, /add --yes/);
    assert.equal((await knex('surveys').where({ id: survey }).first()).deletion_date, '2026-07-10T12:00:00Z', 'nothing changed without --yes');

    const fixed = await doctor('--fix-timestamps', '--yes');
    assert.equal(fixed.code, 78, 'an unreadable value remains');
    const fixedMessages = fixed.timestamps.map((f) => f.message);
    assert.ok(fixedMessages.some((m) => /^surveys\.deletion_date: rewrote 2 values to the canonical form \(same instant\)/.test(m)), fixedMessages.join('\n'));
    assert.ok(fixedMessages.some((m) => /^survey_legal_holds\.placed_at: 1 value cannot be read as an instant and was left unchanged: id \d+ "next tuesday"/.test(m)));
    assert.equal((await knex('surveys').where({ id: survey }).first()).deletion_date, '2026-07-10 12:00:00');
    assert.equal((await knex('surveys').where({ id: survey }).first()).closed_at, '2026-01-10 12:00:00.123456');
    assert.equal((await knex('surveys').where({ id: other }).first()).deletion_date, '2026-07-11 08:00:00');
    assert.deepEqual((await knex('survey_progress').orderBy('id').pluck('expires_at')), ['2026-07-10 12:00:00', '2026-07-10 12:00:00']);
    assert.equal((await knex('survey_deletion_warnings').first()).deletion_date, '2026-07-10 12:00:00');
    assert.equal((await knex('cases').first()).scheduled_release_date, '2026-07-10');
    assert.equal((await knex('survey_legal_holds').first()).placed_at, 'next tuesday');

    await knex('survey_legal_holds').update({ placed_at: '2026-07-01 09:00:00' });
    const clean = await doctor();
    assert.equal(clean.code, 0, clean.stdout);
    assert.match(clean.timestamps[0]!.message, /every compared instant and day has the canonical form/);
  });
});
