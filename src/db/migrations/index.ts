/**
 * The migrations, listed rather than discovered: dist/ carries them compiled, and nothing scans
 * a directory at run time. Add a new one at the end; never rename or reorder.
 */
import type { Knex } from 'knex';
import type { Schema } from '../../profiles/index.js';
import { ownTables } from '../schema.js';
import { isMissingTable } from '../dialect.js';
import { ownCaseHistoryTable } from './own-case-history.js';

interface MigrationModule {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

export const migrations: ReadonlyArray<{ name: string; load(): Promise<MigrationModule> }> = [
  { name: '0001_initial', load: () => import('./0001_initial.js') },
  { name: '0002_job_runs_shard', load: () => import('./0002_job_runs_shard.js') },
];

/** The ontime profile's migrations table; under a prefix it is <prefix>knex_migrations (migrationsTable()). */
export const MIGRATIONS_TABLE = 'knex_migrations';

/** The migrations table of this connection's schema. */
export function migrationsTable(knex: Knex): string {
  return ownTables(knex).migrations;
}

/** Every table the ontime profile's migrations create, children before parents (the order to drop them in). */
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

const APPLICATION_TABLES = new Set(['survey_progress', 'survey_legal_holds', 'survey_responses', 'surveys', 'case_status_history', 'cases']);

/** The tables the migrations create under a schema, children first: ontime's own (prefixed), and the application's only under the ontime profile. */
export function createdTables(schema: Schema): string[] {
  const own: Record<string, string> = {
    audit_log: schema.own.auditLog,
    email_outbox: schema.own.emailOutbox,
    survey_deletion_warnings: schema.own.deletionWarnings,
    job_locks: schema.own.jobLocks,
    job_runs: schema.own.jobRuns,
    system_settings: schema.settings.table,
  };
  const app = schema.profile.createsApplicationTables;
  const history = ownCaseHistoryTable(schema);
  return (history ? [history] : []).concat(TABLES.filter((t) => app || (!APPLICATION_TABLES.has(t) && (t !== 'system_settings' || !schema.profile.settings))).map((t) => own[t] ?? t));
}

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
  // One round trip on every run: read the table and take "no such table" as "nothing applied".
  // (Asking the catalog first cost PostgreSQL an information_schema query on each start.)
  try {
    const rows: Array<{ name: string }> = await knex(migrationsTable(knex)).select('name').orderBy('id');
    return rows.map((r) => r.name);
  } catch (err) {
    if (isMissingTable(err)) return [];
    throw err;
  }
}

export async function pendingMigrations(knex: Knex): Promise<string[]> {
  const applied = new Set(await appliedMigrations(knex));
  return migrations.map((m) => m.name).filter((n) => !applied.has(n));
}
