/**
 * Bad rows never stop a job and are never acted on: on SQLite, instants and days in another
 * spelling are skipped and listed as unreadable; on every database a hold duration whose date
 * arithmetic would overflow (PostgreSQL) or leave the calendar (MariaDB) is unreadable, not exit 70.
 * A legal hold whose removal cannot be read still protects its survey.
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { insertSurvey } from '../helpers/fixtures.js';

interface Unreadable {
  count: number;
  rows: Array<{ table: string; column: string; id: number }>;
}

forEachDatabase('bad rows', (db) => {
  beforeEach(async () => {
    await db().reset();
  });
  const runJson = async (args: string[]) => {
    const r = await runCli([...args, '--json'], { DATABASE_URL: db().url, EMAIL_BACKEND: 'console' });
    assert.notEqual(r.code, 70, r.stderr);
    return { ...r, summary: JSON.parse(r.stdout).summary as { unreadable?: Unreadable } & Record<string, unknown> };
  };
  const insertCase = async (values: Record<string, unknown>) => {
    const [row] = await db().knex('cases').insert({ title: 't', status: 10, contact_email: 'c@example.test', ...values }).returning('id');
    return typeof row === 'object' ? Number((row as { id: number }).id) : Number(row);
  };

  test('hold_duration_days = 2147483647: the case is held and listed, the others proceed (release and email)', async () => {
    const huge = await insertCase({ reference: 'HUGE', scheduled_release_date: '2026-06-01', scheduled_email_date: '2026-06-01', hold_start_date: '2026-05-01', hold_duration_days: 2147483647 });
    const fine = await insertCase({ reference: 'FINE', scheduled_release_date: '2026-06-01', scheduled_email_date: '2026-06-01' });
    for (const job of ['release-scheduled-cases', 'send-scheduled-emails']) {
      const r = await runJson([job, '--now', '2026-06-10T12:00:00Z']);
      assert.equal(r.code, 0, `${job}: ${r.stderr}`);
      assert.deepEqual(r.summary.unreadable?.rows, [{ table: 'cases', column: 'hold_duration_days', id: huge }]);
    }
    type Done = { id: unknown; actual_release_date: unknown; actual_email_sent_date: unknown };
    const rows: Done[] = await db().knex('cases').select('id', 'actual_release_date', 'actual_email_sent_date').orderBy('id');
    const byId = new Map(rows.map((r) => [Number(r.id), r]));
    assert.equal(byId.get(huge)?.actual_release_date, null);
    assert.equal(byId.get(huge)?.actual_email_sent_date, null);
    assert.notEqual(byId.get(fine)?.actual_release_date, null);
    assert.notEqual(byId.get(fine)?.actual_email_sent_date, null);
  });

  test('a row the database refuses alone is reported and skipped; the rest of its batch proceeds (exit 1)', async () => {
    const { knex, dialect } = db();
    if (dialect === 'sqlite') {
      await knex.raw(`CREATE TRIGGER poison BEFORE DELETE ON survey_progress WHEN OLD.session_key = 'poison' BEGIN SELECT RAISE(ABORT, 'planted refusal'); END`);
    } else if (dialect === 'postgres') {
      await knex.raw(`CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN
        IF OLD.session_key = 'poison' THEN RAISE EXCEPTION 'planted refusal'; END IF; RETURN OLD; END $$ LANGUAGE plpgsql`);
      await knex.raw('CREATE TRIGGER poison BEFORE DELETE ON survey_progress FOR EACH ROW EXECUTE FUNCTION poison()');
    } else {
      await knex.raw(`CREATE TRIGGER poison BEFORE DELETE ON survey_progress FOR EACH ROW BEGIN
        IF OLD.session_key = 'poison' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'planted refusal'; END IF; END`);
    }
    try {
      const survey = await insertSurvey(knex, dialect, {});
      const old = dialect === 'sqlite' ? '2020-01-01 00:00:00' : new Date('2020-01-01T00:00:00Z');
      for (const key of ['a', 'poison', 'b']) await knex('survey_progress').insert({ survey_id: survey, session_key: key, data: '{}', updated_at: old });
      const poisonId = Number((await knex('survey_progress').where({ session_key: 'poison' }).first('id')).id);
      const r = await runJson(['cleanup-survey-progress', '--now', '2026-06-01T00:00:00Z']);
      assert.equal(r.code, 1, r.stderr);
      const failed = r.summary.failedRows as Array<{ id: number; error: string }>;
      assert.equal(failed.length, 1);
      assert.equal(r.summary.deleted, 2, 'the two other rows are deleted and counted');
      assert.equal(failed[0]!.id, poisonId);
      assert.match(failed[0]!.error, /planted refusal/);
      assert.doesNotMatch(failed[0]!.error + r.stderr, /delete from/i);
      assert.deepEqual((await knex('survey_progress').select('session_key')).map((x: { session_key: string }) => x.session_key), ['poison']);
    } finally {
      await knex.raw('DROP TRIGGER IF EXISTS poison' + (dialect === 'postgres' ? ' ON survey_progress' : ''));
      if (dialect === 'postgres') await knex.raw('DROP FUNCTION IF EXISTS poison()');
    }
  });

  test('SQLite: instants and days in another spelling are never acted on, and are listed', async (t) => {
    const { knex, dialect } = db();
    if (dialect !== 'sqlite') return t.skip('typed columns hold no other spelling');
    const now = '2026-06-01T10:00:00Z';
    const ids = {
      epochDeleted: await insertSurvey(knex, dialect, { name: 'epoch' }),
      usDate: await insertSurvey(knex, dialect, { name: 'us' }),
      offset: await insertSurvey(knex, dialect, { name: 'offset' }),
      impossible: await insertSurvey(knex, dialect, { name: 'impossible' }),
      due: await insertSurvey(knex, dialect, { name: 'due', deletion_date: new Date('2026-05-31T00:00:00Z') }),
    };
    await knex('surveys').where({ id: ids.epochDeleted }).update({ deleted_at: 1_700_000_000 });
    await knex('surveys').where({ id: ids.usDate }).update({ deletion_date: '1/1/2099' });
    await knex('surveys').where({ id: ids.offset }).update({ deletion_date: '2026-06-01 08:12:57-05:00' });
    await knex('surveys').where({ id: ids.impossible }).update({ deletion_date: '2026-02-30 25:61:00' });
    const releaseUs = await insertCase({ reference: 'US', scheduled_release_date: '1/1/2099' });

    const governance = await runJson(['process-data-governance', '--now', now]);
    assert.equal(governance.code, 0, governance.stderr);
    const listed = governance.summary.unreadable!.rows.map((r) => `${r.column}:${r.id}`).sort();
    assert.deepEqual(listed, [`deleted_at:${ids.epochDeleted}`, `deletion_date:${ids.impossible}`, `deletion_date:${ids.offset}`, `deletion_date:${ids.usDate}`].sort());
    const surveys = new Map((await knex('surveys').select('id', 'deleted_at')).map((r: { id: unknown; deleted_at: unknown }) => [Number(r.id), r.deleted_at]));
    assert.equal(surveys.get(ids.epochDeleted), 1_700_000_000, 'an epoch deleted_at is not hard-deleted');
    for (const id of [ids.usDate, ids.offset, ids.impossible]) assert.equal(surveys.get(id), null, `survey ${id} not soft-deleted`);
    assert.notEqual(surveys.get(ids.due), null, 'the valid due survey is soft-deleted');

    const release = await runJson(['release-scheduled-cases', '--now', now]);
    assert.deepEqual(release.summary.unreadable!.rows, [{ table: 'cases', column: 'scheduled_release_date', id: releaseUs }]);
    assert.equal((await knex('cases').where({ id: releaseUs }).first()).actual_release_date, null);

    await knex('survey_progress').insert({ survey_id: ids.due, session_key: 'k', data: '{}', updated_at: 1, expires_at: '2020-01-01T00:00:00Z' });
    const cleanup = await runJson(['cleanup-survey-progress', '--now', now]);
    assert.equal(cleanup.summary.unreadable!.count, 2);
    assert.equal(Number((await knex('survey_progress').count<{ n: number }[]>({ n: '*' }))[0]!.n), 1);
  });

  test('SQLite: a legal hold whose removed_at cannot be read still protects its survey, and is listed', async (t) => {
    const { knex, dialect } = db();
    if (dialect !== 'sqlite') return t.skip('typed columns hold no other spelling');
    const now = '2026-06-01T10:00:00Z';
    const hold = async (survey: number, removedAt: unknown) => {
      const [row] = await knex('survey_legal_holds')
        .insert({ survey_id: survey, reason: 'litigation', placed_at: '2026-01-01 00:00:00', removed_at: removedAt })
        .returning('id');
      return typeof row === 'object' ? Number((row as { id: number }).id) : Number(row);
    };
    const dueSoft = await insertSurvey(knex, dialect, { name: 'due soft', deletion_date: new Date('2026-05-01T00:00:00Z') });
    const dueHard = await insertSurvey(knex, dialect, { name: 'due hard', deleted_at: new Date('2026-01-01T00:00:00Z') });
    const released = await insertSurvey(knex, dialect, { name: 'released', deletion_date: new Date('2026-05-01T00:00:00Z') });
    const garbledSoft = await hold(dueSoft, '1/1/2026');
    const garbledHard = await hold(dueHard, 1_700_000_000);
    await hold(released, '2026-02-01 00:00:00');

    const r = await runJson(['process-data-governance', '--now', now]);
    assert.equal(r.code, 0, r.stderr);
    const listed = r.summary.unreadable!.rows.map((x) => `${x.table}.${x.column}:${x.id}`).sort();
    assert.deepEqual(listed, [`survey_legal_holds.removed_at:${garbledSoft}`, `survey_legal_holds.removed_at:${garbledHard}`].sort());
    const surveys = new Map((await knex('surveys').select('id', 'deleted_at')).map((x: { id: unknown; deleted_at: unknown }) => [Number(x.id), x.deleted_at]));
    assert.equal(surveys.get(dueSoft), null, 'a hold with an unreadable removal stops soft deletion');
    assert.ok(surveys.has(dueHard), 'a hold with an unreadable removal stops hard deletion');
    assert.notEqual(surveys.get(released), null, 'a hold removed in the canonical form no longer protects');
    assert.equal(Number((await knex('survey_legal_holds').whereIn('id', [garbledSoft, garbledHard]).count<{ n: number }[]>({ n: '*' }))[0]!.n), 2);
  });
});
