/**
 * job_runs.shard: `i/n` for a run of one shard (--shard), '' otherwise — not null, so the unique
 * key (job, shard, scheduled_for) works alike on every database: one run per schedule slot per
 * shard (docs/reference/schema.md). Table and index names carry the profile's prefix (0001).
 */
import type { Knex } from 'knex';
import { schemaOf } from '../schema.js';

export async function up(knex: Knex): Promise<void> {
  const { own, prefix: p } = schemaOf(knex);
  await knex.schema.alterTable(own.jobRuns, (t) => {
    t.string('shard', 20).notNullable().defaultTo('');
  });
  await knex.schema.alterTable(own.jobRuns, (t) => {
    t.dropUnique(['job', 'scheduled_for'], `${p}job_runs_job_scheduled_for_unique`);
    t.unique(['job', 'shard', 'scheduled_for'], { indexName: `${p}job_runs_job_shard_scheduled_for_unique` });
  });
}

export async function down(knex: Knex): Promise<void> {
  const { own, prefix: p } = schemaOf(knex);
  // Shard runs of one slot would collide under the old key: keep the unsharded row of each slot.
  await knex(own.jobRuns).whereNot('shard', '').whereNotNull('scheduled_for').del();
  await knex.schema.alterTable(own.jobRuns, (t) => {
    t.dropUnique(['job', 'shard', 'scheduled_for'], `${p}job_runs_job_shard_scheduled_for_unique`);
    t.unique(['job', 'scheduled_for'], { indexName: `${p}job_runs_job_scheduled_for_unique` });
  });
  await knex.schema.alterTable(own.jobRuns, (t) => {
    t.dropColumn('shard');
  });
}
