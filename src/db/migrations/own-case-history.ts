/**
 * ontime's own case status history, for an application that keeps none (SurgiCase stamps one
 * column per status instead): <prefix>case_status_history, created by the initial migration only
 * when the profile maps a case table but no history table. No foreign key to the application's
 * case table (its deletes must never fail because of ontime); case_id is a string column when the
 * profile's case keys are strings.
 */
import type { Knex } from 'knex';
import type { Schema } from '../../profiles/index.js';
import { instant, isMysql, reference } from './columns.js';

/** The table's name under this schema, or null when the application has its own history (or no cases). */
export function ownCaseHistoryTable(schema: Schema): string | null {
  return schema.profile.cases && !schema.profile.caseStatusHistory ? schema.own.caseStatusHistory : null;
}

export async function createOwnCaseHistory(knex: Knex, schema: Schema): Promise<void> {
  const table = ownCaseHistoryTable(schema);
  if (!table) return;
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
