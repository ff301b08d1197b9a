/**
 * Every table and index of docs/reference/schema.md. ontime's own tables take the profile's prefix
 * (index names too: on PostgreSQL they share the schema's namespace with the application's); the
 * application tables are created only under the ontime profile, whose schema they are. Under any
 * other profile this migration never creates, alters or drops an application table.
 */
import type { Knex } from 'knex';
import { instant, isMysql, reference } from './columns.js';
import { createdTables } from './index.js';
import { createOwnCaseHistory } from './own-case-history.js';
import { schemaOf } from '../schema.js';

export async function up(knex: Knex): Promise<void> {
  const utf8 = (t: Knex.CreateTableBuilder) => {
    if (isMysql(knex)) t.charset('utf8mb4');
  };
  const schema = schemaOf(knex);
  const own = schema.own;
  const p = schema.prefix;
  const app = schema.profile.createsApplicationTables;

  if (app || !schema.profile.settings) await knex.schema.createTable(schema.settings.table, (t) => {
    utf8(t);
    t.string('key', 100).primary();
    t.text('value').notNullable();
    instant(knex, t, 'updated_at').nullable();
  });

  await knex.schema.createTable(own.jobRuns, (t) => {
    utf8(t);
    t.bigIncrements('id');
    t.string('job', 100).notNullable();
    t.string('trigger', 20).notNullable();
    instant(knex, t, 'scheduled_for').nullable();
    instant(knex, t, 'started_at').notNullable();
    instant(knex, t, 'finished_at').nullable();
    t.string('status', 20).notNullable();
    t.integer('exit_code').nullable();
    t.string('host', 255).nullable();
    t.integer('pid').nullable();
    t.text('summary').nullable();
    t.text('error').nullable();
    t.index(['job', 'started_at'], `${p}job_runs_job_started_at_index`);
    t.unique(['job', 'scheduled_for'], { indexName: `${p}job_runs_job_scheduled_for_unique` });
  });

  await knex.schema.createTable(own.jobLocks, (t) => {
    utf8(t);
    t.string('name', 191).primary();
    t.string('holder', 255).notNullable();
    t.bigInteger('run_id').nullable();
    instant(knex, t, 'acquired_at').notNullable();
    instant(knex, t, 'expires_at').notNullable();
  });

  if (app) await knex.schema.createTable('cases', (t) => {
    utf8(t);
    t.bigIncrements('id');
    t.string('reference', 64).notNullable().unique();
    t.string('title', 255).notNullable();
    t.integer('status').notNullable();
    t.string('contact_name', 255).nullable();
    t.string('contact_email', 254).nullable();
    t.date('scheduled_release_date').nullable();
    instant(knex, t, 'actual_release_date').nullable();
    t.date('scheduled_email_date').nullable();
    instant(knex, t, 'actual_email_sent_date').nullable();
    t.date('hold_start_date').nullable();
    t.date('hold_end_date').nullable();
    t.integer('hold_duration_days').nullable();
    instant(knex, t, 'created_at').nullable();
    instant(knex, t, 'updated_at').nullable();
    t.index(['scheduled_release_date'], 'cases_scheduled_release_date_index');
    t.index(['scheduled_email_date'], 'cases_scheduled_email_date_index');
    t.index(['status'], 'cases_status_index');
  });

  if (app) await knex.schema.createTable('case_status_history', (t) => {
    utf8(t);
    t.bigIncrements('id');
    reference(t, 'case_id').notNullable().references('id').inTable('cases').onDelete('CASCADE');
    t.integer('from_status').notNullable();
    t.integer('to_status').notNullable();
    instant(knex, t, 'changed_at').notNullable();
    t.string('source', 100).nullable();
    reference(t, 'run_id').nullable().references('id').inTable(own.jobRuns).onDelete('SET NULL');
  });

  if (app) await knex.schema.createTable('surveys', (t) => {
    utf8(t);
    t.bigIncrements('id');
    t.string('name', 255).notNullable();
    t.string('owner_email', 254).notNullable();
    t.string('owner_name', 255).nullable();
    t.integer('retention_months').notNullable().defaultTo(6);
    instant(knex, t, 'closed_at').nullable();
    instant(knex, t, 'deletion_date').nullable();
    instant(knex, t, 'deleted_at').nullable();
    instant(knex, t, 'created_at').nullable();
    instant(knex, t, 'updated_at').nullable();
    // Not in docs/reference/schema.md's list, but the governance job selects by these two every night.
    t.index(['deletion_date'], 'surveys_deletion_date_index');
    t.index(['deleted_at'], 'surveys_deleted_at_index');
  });

  if (app) await knex.schema.createTable('survey_responses', (t) => {
    utf8(t);
    t.bigIncrements('id');
    reference(t, 'survey_id').notNullable().references('id').inTable('surveys').onDelete('CASCADE');
    instant(knex, t, 'submitted_at').nullable();
    t.text('payload').nullable();
    t.index(['survey_id'], 'survey_responses_survey_id_index');
  });

  if (app) await knex.schema.createTable('survey_legal_holds', (t) => {
    utf8(t);
    t.bigIncrements('id');
    reference(t, 'survey_id').notNullable().references('id').inTable('surveys').onDelete('CASCADE');
    t.text('reason').nullable();
    instant(knex, t, 'placed_at').nullable();
    instant(knex, t, 'removed_at').nullable();
    t.index(['survey_id'], 'survey_legal_holds_survey_id_index');
  });

  await knex.schema.createTable(own.deletionWarnings, (t) => {
    utf8(t);
    t.bigIncrements('id');
    // Under another profile: no foreign key into the application, so its own deletes never fail.
    if (app) reference(t, 'survey_id').notNullable().references('id').inTable('surveys').onDelete('CASCADE');
    else reference(t, 'survey_id').notNullable();
    t.integer('days_before').notNullable();
    instant(knex, t, 'deletion_date').notNullable();
    instant(knex, t, 'sent_at').nullable();
    t.unique(['survey_id', 'days_before', 'deletion_date'], { indexName: `${p}survey_deletion_warnings_unique` });
  });

  if (app) await knex.schema.createTable('survey_progress', (t) => {
    utf8(t);
    t.bigIncrements('id');
    reference(t, 'survey_id').notNullable().references('id').inTable('surveys').onDelete('CASCADE');
    t.bigInteger('user_id').nullable();
    t.string('session_key', 64).nullable();
    t.string('access_token', 128).nullable();
    t.text('data').nullable();
    instant(knex, t, 'updated_at').nullable();
    instant(knex, t, 'expires_at').nullable();
    t.index(['expires_at'], 'survey_progress_expires_at_index');
    t.index(['updated_at'], 'survey_progress_updated_at_index');
    t.index(['survey_id'], 'survey_progress_survey_id_index');
  });

  await knex.schema.createTable(own.emailOutbox, (t) => {
    utf8(t);
    t.bigIncrements('id');
    t.string('dedupe_key', 191).notNullable().unique();
    t.string('kind', 50).nullable();
    // to_address, subject and body_text read '[pruned]' (body_html, last_error NULL) once
    // prune-history has cleared a settled row's personal data: docs/operations.md.
    t.string('to_address', 254).nullable();
    t.string('subject', 255).nullable();
    t.text('body_text').nullable();
    t.text('body_html').nullable();
    t.string('status', 20).notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('last_error').nullable();
    t.string('message_id', 255).nullable();
    instant(knex, t, 'created_at').nullable();
    instant(knex, t, 'updated_at').nullable();
    instant(knex, t, 'sent_at').nullable();
    reference(t, 'run_id').nullable().references('id').inTable(own.jobRuns).onDelete('SET NULL');
    t.index(['status'], `${p}email_outbox_status_index`);
  });

  await knex.schema.createTable(own.auditLog, (t) => {
    utf8(t);
    t.bigIncrements('id');
    instant(knex, t, 'at').notNullable();
    t.string('actor', 100).nullable();
    t.string('action', 100).notNullable();
    t.string('subject_type', 50).nullable();
    t.string('subject_id', 64).nullable();
    t.text('details').nullable();
    t.bigInteger('run_id').nullable();
    t.index(['subject_type', 'subject_id'], `${p}audit_log_subject_index`);
    t.index(['at'], `${p}audit_log_at_index`);
  });

  await createOwnCaseHistory(knex, schema);
}

export async function down(knex: Knex): Promise<void> {
  for (const table of createdTables(schemaOf(knex))) {
    await knex.schema.dropTableIfExists(table);
  }
}
