/**
 * ontime's own case status history, for an application that keeps none (SurgiCase stamps one
 * column per status instead): <prefix>case_status_history, created only when the profile maps a
 * case table but no history table. No foreign key to the application's case table (its deletes
 * must never fail because of ontime), and case_id is a string column when the profile's case ids
 * are strings. Under the ontime profile, and profiles without cases, this migration does nothing.
 */
import type { Knex } from 'knex';
import { instant, isMysql, reference } from './columns.js';
import { schemaOf } from '../schema.js';

function ownHistoryTable(knex: Knex): string | null {
  const { profile, own } = schemaOf(knex);
  return profile.cases && !profile.caseStatusHistory ? own.caseStatusHistory : null;
}

export async function up(knex: Knex): Promise<void> {
  const table = ownHistoryTable(knex);
  if (!table) return;
  const schema = schemaOf(knex);
  const stringIds = schema.profile.cases!.idKind === 'string';
  await knex.schema.createTable(table, (t) => {
    if (isMysql(knex)) t.charset('utf8mb4');
    t.bigIncrements('id');
    if (stringIds) t.string('case_id', 191).notNullable();
    else reference(t, 'case_id').notNullable();
    t.integer('from_status').notNullable();
    t.integer('to_status').notNullable();
    instant(knex, t, 'changed_at').notNullable();
    t.string('source', 100).nullable();
    reference(t, 'run_id').nullable().references('id').inTable(schema.own.jobRuns).onDelete('SET NULL');
    t.index(['case_id'], `${table}_case_id_index`);
  });
}

export async function down(knex: Knex): Promise<void> {
  const table = ownHistoryTable(knex);
  if (table) await knex.schema.dropTableIfExists(table);
}
