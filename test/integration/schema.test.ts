/** Every table and column of docs/reference/schema.md exists after `migrate`, on every database. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachDatabase } from '../helpers/databases.js';

// docs/reference/schema.md, table by table. Columns may be added; none of these may go missing.
const CONTRACT: Record<string, string[]> = {
  system_settings: ['key', 'value', 'updated_at'],
  cases: [
    'id', 'reference', 'title', 'status', 'contact_name', 'contact_email', 'scheduled_release_date',
    'actual_release_date', 'scheduled_email_date', 'actual_email_sent_date', 'hold_start_date',
    'hold_end_date', 'hold_duration_days', 'created_at', 'updated_at',
  ],
  case_status_history: ['id', 'case_id', 'from_status', 'to_status', 'changed_at', 'source', 'run_id'],
  surveys: [
    'id', 'name', 'owner_email', 'owner_name', 'retention_months', 'closed_at', 'deletion_date',
    'deleted_at', 'created_at', 'updated_at',
  ],
  survey_responses: ['id', 'survey_id', 'submitted_at', 'payload'],
  survey_legal_holds: ['id', 'survey_id', 'reason', 'placed_at', 'removed_at'],
  survey_deletion_warnings: ['id', 'survey_id', 'days_before', 'deletion_date', 'sent_at'],
  survey_progress: ['id', 'survey_id', 'user_id', 'session_key', 'access_token', 'data', 'updated_at', 'expires_at'],
  job_runs: [
    'id', 'job', 'trigger', 'scheduled_for', 'started_at', 'finished_at', 'status', 'exit_code', 'host',
    'pid', 'summary', 'error',
  ],
  job_locks: ['name', 'holder', 'run_id', 'acquired_at', 'expires_at'],
  email_outbox: [
    'id', 'dedupe_key', 'kind', 'to_address', 'subject', 'body_text', 'body_html', 'status', 'attempts',
    'last_error', 'message_id', 'created_at', 'updated_at', 'sent_at', 'run_id',
  ],
  audit_log: ['id', 'at', 'actor', 'action', 'subject_type', 'subject_id', 'details', 'run_id'],
};

forEachDatabase('migrated schema', (db) => {
  for (const [table, columns] of Object.entries(CONTRACT)) {
    test(`${table} has every column of docs/reference/schema.md`, async () => {
      const info = await db().knex(table).columnInfo();
      const missing = columns.filter((c) => !(c in info));
      assert.deepEqual(missing, [], `${table} is missing ${missing.join(', ')}`);
    });
  }

  test('instants keep microseconds and read back as the same instant', async () => {
    const { knex, dialect } = db();
    const { toDbInstant, fromDbInstant } = await import('../../src/db/time.js');
    const when = new Date('2026-11-22T10:11:12.345Z');
    await knex('job_runs').insert({ job: 'x', trigger: 'cli', started_at: toDbInstant(dialect, when), status: 'running' });
    const row = await knex('job_runs').first('started_at');
    assert.equal(fromDbInstant(row.started_at)?.toISOString(), when.toISOString());
    await knex('job_runs').del();
  });

  test('a date column reads back as the same calendar day', async () => {
    const { knex } = db();
    await knex('cases').insert({ reference: 'D-1', title: 't', status: 10, scheduled_release_date: '2026-03-29' });
    const row = await knex('cases').first('scheduled_release_date');
    const { fromDbDay } = await import('../../src/db/time.js');
    assert.equal(fromDbDay(row.scheduled_release_date), '2026-03-29');
    await knex('cases').del();
  });

  test('the (job, scheduled_for) pair is unique, and null slots never collide', async () => {
    const { knex, dialect } = db();
    const { toDbInstant } = await import('../../src/db/time.js');
    const slot = toDbInstant(dialect, new Date('2026-11-22T02:00:00Z'));
    const started = toDbInstant(dialect, new Date());
    await knex('job_runs').insert({ job: 'a', trigger: 'cli', started_at: started, status: 'running' });
    await knex('job_runs').insert({ job: 'a', trigger: 'cli', started_at: started, status: 'running' });
    await knex('job_runs').insert({ job: 'a', trigger: 'run-due', scheduled_for: slot, started_at: started, status: 'running' });
    await assert.rejects(
      knex('job_runs').insert({ job: 'a', trigger: 'run-due', scheduled_for: slot, started_at: started, status: 'running' }),
    );
    await knex('job_runs').del();
  });
});
