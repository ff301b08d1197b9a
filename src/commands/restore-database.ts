/**
 * `ontime restore-database <file> --yes`: put a backup-database copy back, SQLite only. The backup
 * is checked first, no job may hold a lock, and the current database is copied aside before it is
 * overwritten, so a restore can itself be undone.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config.js';
import { ExitCode, TemporaryError, UsageError } from '../errors.js';
import type { Output } from '../output.js';
import { withSession, type Invocation } from '../runner/session.js';
import { ownTables } from '../db/schema.js';

export interface RestoreOptions {
  args: string[];
  yes?: boolean;
  json?: boolean;
  verbose?: boolean;
}

/**
 * The backup was taken while runs were going on (backup-database's own, at least): their leases
 * and `running` rows came back with it. No run holds a lock now (checked above), so those leases
 * are stale and those runs ended long ago: free the leases, mark the runs abandoned.
 */
async function settleRunBookkeeping(database: Config['database'], out: Output): Promise<void> {
  const { connect } = await import('../db/connect.js');
  const { deleteLease, listLeases } = await import('../db/locks.js');
  const { abandonRunningRuns } = await import('../db/job-runs.js');
  const knex = await connect(database);
  try {
    const leases = await listLeases(knex, 'sqlite');
    for (const lease of leases) await deleteLease(knex, lease.name);
    const running: Array<{ job: string }> = await knex(ownTables(knex).jobRuns).where({ status: 'running' }).distinct('job');
    let abandoned = 0;
    for (const { job } of running) abandoned += (await abandonRunningRuns(knex, 'sqlite', job, 'restore-database', new Date())).length;
    if (leases.length + abandoned > 0) out.line(`Freed ${leases.length} lease(s) and marked ${abandoned} run(s) abandoned that were in progress when the backup was taken`);
  } finally {
    await knex.destroy();
  }
}

export default async function restoreDatabase(options: RestoreOptions, inv: Invocation): Promise<number> {
  return withSession(inv, { json: options.json, verbose: options.verbose }, async ({ out, config, db }) => {
    if (config.database.dialect !== 'sqlite') {
      throw new UsageError(
        'restore-database restores SQLite databases only',
        config.database.dialect === 'postgres' ? 'restore a .pgdump with pg_restore --clean --dbname …' : 'restore a .sql.gz with: gunzip -c FILE | mariadb …',
      );
    }
    const source = resolve(inv.cwd, options.args[0] ?? '');
    if (!options.args[0] || !existsSync(source)) throw new UsageError(`no backup file at ${source}`);
    const target = config.database.filename!;
    if (source === target) throw new UsageError('the backup file is the database itself');
    if (!options.yes) {
      throw new UsageError(`restoring replaces everything in ${target}`, `add --yes to restore from ${source}`);
    }
    const { backupSqlite, checkSqliteFile, restoreSqlite } = await import('../db/sqlite-backup.js');
    const check = await checkSqliteFile(source);
    if (check !== 'ok') throw new UsageError(`${source} is not a sound SQLite database (integrity_check: ${check})`);

    const knex = await db();
    const { listLeases } = await import('../db/locks.js');
    const held = (await listLeases(knex, 'sqlite')).filter((l) => !l.expired);
    if (held.length > 0) {
      throw new TemporaryError(
        `a run holds a lock (${held.map((l) => `${l.name} by ${l.holder}`).join(', ')}); not restoring under a running job`,
        'wait for it to finish (ontime locks), then try again',
      );
    }
    const stamp = new Date().toISOString().replace(/[-:]/g, '');
    const aside = `${target}.before-restore-${stamp}`;
    await backupSqlite(knex, aside);
    out.line(`Copied the current database aside to ${aside}`);
    // The connection is closed before the file is overwritten under it.
    await knex.destroy();
    await restoreSqlite(source, target);
    const after = await checkSqliteFile(target);
    out.line(`Restored ${target} from ${source} (integrity_check: ${after})`);
    if (after === 'ok') await settleRunBookkeeping(config.database, out);
    if (options.json) out.emitJson({ restored: target, from: source, previous: aside, integrityCheck: after });
    return after === 'ok' ? ExitCode.ok : ExitCode.internal;
  });
}
