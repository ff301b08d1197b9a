/**
 * A batch whose COMMIT fails (a foreign key checked only at commit: DEFERRABLE INITIALLY
 * DEFERRED on SQLite and PostgreSQL; MariaDB has no deferred keys, its DELETE fails at once):
 * the batch leaves nothing behind, the run reports the refused row, and the batches after it are
 * committed for real. On SQLite this needs the runner's explicit ROLLBACK (db/transaction.ts):
 * SQLite keeps a transaction open after a failed COMMIT and knex does not end it, so the run's
 * one connection would go on inside it, its later "commits" never reaching the database.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import type { Dialect } from '../../src/config.js';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { DAY, insertMany, insertSurvey, progressRow } from '../helpers/fixtures.js';

const NOW = new Date('2026-06-01T02:00:00Z');

function notesTable(dialect: Dialect): string {
  switch (dialect) {
    case 'sqlite':
      return 'CREATE TABLE progress_notes (id INTEGER PRIMARY KEY, progress_id INTEGER NOT NULL REFERENCES survey_progress (id) DEFERRABLE INITIALLY DEFERRED)';
    case 'postgres':
      return 'CREATE TABLE progress_notes (id serial PRIMARY KEY, progress_id bigint NOT NULL REFERENCES survey_progress (id) DEFERRABLE INITIALLY DEFERRED)';
    case 'mysql':
      return 'CREATE TABLE progress_notes (id int AUTO_INCREMENT PRIMARY KEY, progress_id bigint unsigned NOT NULL, FOREIGN KEY (progress_id) REFERENCES survey_progress (id))';
  }
}

forEachDatabase('a batch whose commit fails', (db) => {
  beforeEach(async () => {
    await db().reset();
  });
  afterEach(async () => {
    await db().knex.schema.dropTableIfExists('progress_notes');
  });

  test('a foreign key violated at commit: that batch is rolled back whole, the run reports the row, later batches commit', async () => {
    const { knex, dialect } = db();
    const survey = await insertSurvey(knex, dialect);
    await insertMany(
      knex,
      'survey_progress',
      Array.from({ length: 12 }, (_, i) => progressRow(dialect, { survey_id: survey, session_key: `s-${i}`, expires_at: new Date(NOW.getTime() - DAY), updated_at: new Date(NOW.getTime() - 2 * DAY) })),
    );
    const ids: number[] = (await knex('survey_progress').orderBy('id').pluck('id')).map(Number);
    const referenced = ids[1]!; // in the first batch of 4
    await knex.raw(notesTable(dialect));
    await knex('progress_notes').insert({ progress_id: referenced });

    const r = await runCli(['cleanup-survey-progress', '--now', NOW.toISOString(), '--batch-size', '4', '--json'], { DATABASE_URL: db().url });
    const out = JSON.parse(r.stdout);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(out.status, 'partial');
    assert.match(r.stderr, new RegExp(`\\b${referenced}\\b[^\\n]*(FOREIGN KEY|foreign key)`), 'the refused row is named with the reason');

    // What the database holds, read on another connection once the run is over.
    const left: number[] = (await knex('survey_progress').orderBy('id').pluck('id')).map(Number);
    assert.deepEqual(left, [referenced], 'only the referenced row is left: every other batch was committed');
    assert.equal(out.summary.deleted, ids.length - 1, 'the run counts what it committed, not what was rolled back');
    assert.deepEqual((await knex('progress_notes').pluck('progress_id')).map(Number), [referenced]);
    const [run] = await knex('job_runs').select('status', 'exit_code');
    assert.deepEqual([run.status, Number(run.exit_code)], ['partial', 1], 'the run row records the failure');
  });
});
