/**
 * backup-database: a copy of the whole database in ONTIME_BACKUP_DIR, named
 * `ontime-<UTC timestamp>.<sqlite3|pgdump|sql.gz>`. Written under a temporary name, verified,
 * fsynced, then renamed, so a file with a final name is always a complete, checked backup; only
 * then are the backups beyond the newest --keep deleted.
 */
import { chmod, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { audit } from '../../db/audit.js';
import { OntimeError } from '../../errors.js';
import { formatUtc, groupDigits, plural } from '../../output.js';
import type { JobContext, JobHandler } from '../../runner/types.js';
import { syncPath } from '../durable-file.js';
import { dumpTool, runDump } from './dump.js';

export interface BackupOptions {
  keep: number;
}

export const BACKUP_FILE = /^ontime-\d{8}T\d{6}\.\d{3}Z\.(sqlite3|pgdump|sql\.gz)$/;

/** 2026-11-29T01:15:00.123Z → ontime-20261129T011500.123Z.sqlite3 (sorts by time, no colons). */
export function backupFileName(at: Date, extension: string): string {
  const stamp = at.toISOString().replace(/[-:]/g, '');
  return `ontime-${stamp}.${extension}`;
}

/** Backups in the directory (by their names only: other files are never touched), newest first. */
export async function listBackups(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  return names.filter((n) => BACKUP_FILE.test(n)).sort().reverse();
}

async function takeBackup(ctx: JobContext, temporary: string): Promise<{ extension: string; check: string }> {
  const database = ctx.config.database;
  if (database.dialect === 'sqlite') {
    const { backupSqlite, finishAndCheckCopy } = await import('../../db/sqlite-backup.js');
    await backupSqlite(ctx.db, temporary);
    const answer = await finishAndCheckCopy(temporary);
    if (answer !== 'ok') throw new OntimeError(`the new backup failed PRAGMA integrity_check: ${answer}`, 1);
    return { extension: 'sqlite3', check: 'integrity_check ok' };
  }
  const tool = dumpTool(database, ctx.config.env, temporary);
  await runDump(tool, temporary);
  const size = (await stat(temporary)).size;
  if (size === 0) throw new OntimeError(`${tool.program} exited 0 but wrote nothing`, 1);
  return { extension: tool.extension, check: `${tool.program.split('/').pop()} exited 0, ${groupDigits(size)} bytes` };
}

const backupDatabase: JobHandler<BackupOptions> = async (ctx, options) => {
  const { out, dryRun } = ctx;
  const dir = ctx.config.backupDir;
  out.line(ctx.startLine('database backup'));
  const existing = await listBackups(dir);
  if (dryRun) {
    // Only the tool check: a dry run writes no file, so it cannot verify one.
    if (ctx.dialect !== 'sqlite') dumpTool(ctx.config.database, ctx.config.env, join(dir, 'dry-run'));
    const wouldDelete = existing.slice(Math.max(0, options.keep - 1));
    out.line(`Would write a backup of ${ctx.config.database.display} to ${dir}`);
    out.line(`Would then delete ${plural(wouldDelete.length, 'older backup')}${wouldDelete.length ? `: ${wouldDelete.join(', ')}` : ''} (keeping the newest ${options.keep})`);
    return { summary: { file: null, keep: options.keep, deleted: wouldDelete.length, dir } };
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const startedAt = new Date();
  const temporary = join(dir, `.ontime-backup-${process.pid}-${startedAt.getTime()}.partial`);
  let file: string;
  let check: string;
  try {
    const taken = await takeBackup(ctx, temporary);
    check = taken.check;
    // Backups hold every personal datum in the database: owner only.
    await chmod(temporary, 0o600);
    await syncPath(temporary);
    file = join(dir, backupFileName(startedAt, taken.extension));
    await rename(temporary, file);
    await syncPath(dir);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
  const bytes = (await stat(file)).size;
  out.line(`Wrote ${file} (${groupDigits(bytes)} bytes; ${check})`);

  const kept = (await listBackups(dir)).slice(0, options.keep);
  const older = (await listBackups(dir)).slice(options.keep);
  for (const name of older) await rm(join(dir, name), { force: true });
  if (older.length > 0) out.line(`Deleted ${plural(older.length, 'older backup')}: ${older.join(', ')}`);
  out.detail(`Kept: ${kept.join(', ')}`);

  await audit(ctx.db, ctx, {
    action: 'database.backed_up',
    subjectType: null,
    subjectId: null,
    details: { file, bytes, deleted: older, keep: options.keep },
  });
  out.line('');
  out.line(`Database backup completed at ${formatUtc(ctx.completedAt())}`);
  return { summary: { file, bytes, keep: options.keep, deleted: older.length, dir } };
};

export default backupDatabase;
