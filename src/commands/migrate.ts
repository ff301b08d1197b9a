/** `ontime migrate [--status] [--rollback --yes]` */
import type { Knex } from 'knex';
import type { DatabaseConfig } from '../config.js';
import { UsageError } from '../errors.js';
import type { AdminContext } from '../runner/admin.js';
import { schemaOf } from '../db/schema.js';

export interface MigrateOptions {
  status?: boolean;
  rollback?: boolean;
  yes?: boolean;
  json?: boolean;
  /** The database's name, repeated: --rollback may drop tables that hold data. */
  forceDropData?: string;
  verbose?: boolean;
}

export function validate(options: MigrateOptions): void {
  if (options.rollback && options.status) throw new UsageError('--status and --rollback cannot be combined');
  if (options.rollback && !options.yes) {
    throw new UsageError('--rollback drops tables and their data', 'add --yes if that is what you want');
  }
}

export default async function migrate({ db: knex, out, config }: AdminContext, options: MigrateOptions): Promise<number> {
  const { migrations, migrationSource, appliedMigrations, migrationsTable } = await import('../db/migrations/index.js');
  const migrateConfig = { migrationSource, tableName: migrationsTable(knex) };
  const where = config.database.display;

  if (options.status) {
    const applied = new Set(await appliedMigrations(knex));
    const rows = migrations.map((m) => ({ name: m.name, applied: applied.has(m.name) }));
    const pending = rows.filter((r) => !r.applied).length;
    if (options.json) out.emitJson({ database: where, migrations: rows, pending });
    else {
      out.line(`Migrations of ${where}:`);
      for (const r of rows) out.line(`  ${r.applied ? out.style.green('applied') : out.style.yellow('pending')}  ${r.name}`);
      out.line(pending === 0 ? 'Up to date.' : `${pending} pending: run \`ontime migrate\`.`);
    }
    return 0;
  }

  if (options.rollback) {
    await refuseToDropData(knex, databaseName(config.database), options.forceDropData);
    const [batch, names] = (await knex.migrate.rollback(migrateConfig)) as [number, string[]];
    if (options.json) out.emitJson({ database: where, rolledBack: names, batch });
    else if (names.length === 0) out.line(`Nothing to roll back in ${where}.`);
    else out.line(`Rolled back batch ${batch} of ${where}: ${names.join(', ')}`);
    return 0;
  }

  const [batch, names] = (await knex.migrate.latest(migrateConfig)) as [number, string[]];
  if (options.json) out.emitJson({ database: where, applied: names, batch: names.length ? batch : null });
  else if (names.length === 0) out.line(`${where} is up to date.`);
  else out.line(`Migrated ${where}: ${names.join(', ')}`);
  return 0;
}

/** ontime's own bookkeeping: rebuilt by the next run. Every other table holds data someone wrote. */
function ownStateTables(knex: Knex): Set<string> {
  const s = schemaOf(knex);
  return new Set([s.own.jobRuns, s.own.jobLocks, s.settings.table]);
}

/** What --force-drop-data must repeat: the database name, or the SQLite file's name. */
function databaseName(db: DatabaseConfig): string {
  return db.dialect === 'sqlite' ? (db.filename ?? '').split(/[\\/]/).pop()! : db.database!;
}

async function refuseToDropData(knex: Knex, name: string, confirmed: string | undefined): Promise<void> {
  const { createdTables } = await import('../db/migrations/index.js');
  const holding: string[] = [];
  const ownState = ownStateTables(knex);
  for (const table of createdTables(schemaOf(knex)).filter((t) => !ownState.has(t))) {
    if (!(await knex.schema.hasTable(table))) continue;
    if (await knex(table).first(knex.raw('1 as present'))) holding.push(table);
  }
  if (holding.length === 0 || confirmed === name) return;
  throw new UsageError(
    confirmed === undefined
      ? `--rollback would drop tables of database "${name}" that hold rows: ${holding.join(', ')}`
      : `--force-drop-data "${confirmed}" does not name this database ("${name}"); nothing was dropped`,
    `if the data in "${name}" may go, add --force-drop-data ${name}`,
  );
}
