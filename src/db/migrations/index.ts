/**
 * The migrations, listed rather than discovered: dist/ carries them compiled, and nothing scans
 * a directory at run time. Add a new one at the end; never rename or reorder.
 */
import type { Knex } from 'knex';

interface MigrationModule {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

export const migrations: ReadonlyArray<{ name: string; load(): Promise<MigrationModule> }> = [
  { name: '0001_initial', load: () => import('./0001_initial.js') },
  { name: '0002_job_runs_shard', load: () => import('./0002_job_runs_shard.js') },
];

export const MIGRATIONS_TABLE = 'knex_migrations';

/** Every table the migrations create, children before parents (the order to drop them in). */
export const TABLES = [
  'audit_log',
  'email_outbox',
  'survey_progress',
  'survey_deletion_warnings',
  'survey_legal_holds',
  'survey_responses',
  'surveys',
  'case_status_history',
  'cases',
  'job_locks',
  'job_runs',
  'system_settings',
] as const;

export const migrationSource: Knex.MigrationSource<string> = {
  async getMigrations() {
    return migrations.map((m) => m.name);
  },
  getMigrationName(name) {
    return name;
  },
  async getMigration(name) {
    const entry = migrations.find((m) => m.name === name);
    if (!entry) throw new Error(`unknown migration ${name}`);
    return entry.load();
  },
};

/** Migration names applied to this database, without creating anything (safe in a dry run). */
export async function appliedMigrations(knex: Knex): Promise<string[]> {
  if (!(await knex.schema.hasTable(MIGRATIONS_TABLE))) return [];
  const rows: Array<{ name: string }> = await knex(MIGRATIONS_TABLE).select('name').orderBy('id');
  return rows.map((r) => r.name);
}

export async function pendingMigrations(knex: Knex): Promise<string[]> {
  const applied = new Set(await appliedMigrations(knex));
  return migrations.map((m) => m.name).filter((n) => !applied.has(n));
}
