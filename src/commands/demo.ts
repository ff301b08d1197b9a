/**
 * `ontime demo`: try ontime with no setup. Always its own SQLite file, ./ontime-demo.sqlite3 (it
 * ignores DATABASE_URL: a demo must never touch a real database), recreated on every run;
 * example data dated relative to now; every scheduled job run in turn as a child process, mail
 * written as .eml files into ./ontime-demo-mail/; then what happened and what to try next.
 * Exit code: the worst of the jobs' (0 when every job did its work).
 */
import { lstatSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { exitMeaning, spawnJob, worstExitCode } from '../dispatch/spawn-job.js';
import { ExitCode } from '../errors.js';
import { Output, formatUtc } from '../output.js';
import { jobs } from '../registry.js';
import { withSession, type Invocation } from '../runner/session.js';

export interface DemoOptions {
  verbose?: boolean;
}

export const DEMO_DATABASE = 'ontime-demo.sqlite3';
export const DEMO_MAIL_DIR = 'ontime-demo-mail';
export const DEMO_BACKUP_DIR = 'ontime-demo-backups';
export const DEMO_STATUS_PAGE = 'ontime-demo-status.html';

type ReadOnlySqlite = new (
  file: string,
  options: { readonly: boolean; fileMustExist: boolean },
) => { prepare(sql: string): { get(...params: unknown[]): unknown }; close(): void };

/** Why `file` must not be replaced, or undefined when it is absent or an earlier demo's database. */
async function notADemoDatabase(file: string): Promise<string | undefined> {
  try {
    lstatSync(file);
  } catch {
    return undefined;
  }
  // Read-only, straight through the driver: nothing of the file may change before we know whose it is.
  const { default: Database } = (await import('better-sqlite3' as string)) as { default: ReadOnlySqlite };
  let db: InstanceType<ReadOnlySqlite> | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const { DEMO_MARKER_KEY } = await import('../db/demo-data.js');
    const marker = db.prepare('select value from system_settings where key = ?').get(DEMO_MARKER_KEY);
    return marker ? undefined : 'is not an ontime demo database';
  } catch {
    return 'is not an ontime demo database';
  } finally {
    db?.close();
  }
}

export default async function demo(options: DemoOptions, inv: Invocation): Promise<number> {
  const file = join(inv.cwd, DEMO_DATABASE);
  const mailDir = join(inv.cwd, DEMO_MAIL_DIR);
  const backupDir = join(inv.cwd, DEMO_BACKUP_DIR);
  const env: NodeJS.ProcessEnv = {
    ...inv.env,
    // Relative to the working directory (the children's too): the directory's path, which may hold
    // "?", "#" or "%41", never goes through URL parsing.
    DATABASE_URL: `sqlite:${DEMO_DATABASE}`,
    EMAIL_BACKEND: 'file',
    EMAIL_FILE_PATH: mailDir,
    DEFAULT_FROM_EMAIL: 'ontime-demo@example.test',
    // Nothing of the demo may reach a real monitor or a real mailbox.
    ONTIME_PING_URL: '',
    ONTIME_ALERT_EMAILS: '',
    ONTIME_LOCK: 'auto',
    // The demo's data is ontime's own schema, whatever profile the operator's environment selects.
    ONTIME_PROFILE: 'ontime',
    ONTIME_PROFILE_FILE: '',
    ONTIME_TABLE_PREFIX: '',
    ONTIME_CALENDAR_TIMEZONE: '',
    ONTIME_BACKUP_DIR: backupDir,
    ONTIME_ARCHIVE_DIR: '',
    // Every job run refreshes the demo's status page (docs/operations.md).
    ONTIME_STATUS_HTML: join(inv.cwd, DEMO_STATUS_PAGE),
  };
  const demoInv: Invocation = { ...inv, env };
  const out = new Output(inv.streams, { verbose: options.verbose, env: inv.env });
  if ((inv.env.DATABASE_URL ?? '').trim()) {
    out.notice(`note: the demo ignores DATABASE_URL and uses its own SQLite file ${file}`);
  }

  // Start fresh: the demo's database and mail from an earlier run go; any other file by that name stays.
  const inTheWay = await notADemoDatabase(file);
  if (inTheWay) {
    out.error(`${file} exists and ${inTheWay}; the demo will not replace it`, 'move that file away, or run the demo in another directory');
    return ExitCode.config;
  }
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) rmSync(f, { force: true });
  rmSync(mailDir, { recursive: true, force: true });
  rmSync(backupDir, { recursive: true, force: true });
  rmSync(join(inv.cwd, DEMO_STATUS_PAGE), { force: true });

  const setup = await withSession(demoInv, { verbose: options.verbose }, async (session) => {
    const db = await session.db();
    const { migrationSource, migrationsTable } = await import('../db/migrations/index.js');
    await db.migrate.latest({ migrationSource, tableName: migrationsTable(db) });
    const { loadDemoData } = await import('../db/demo-data.js');
    const now = new Date();
    const counts = await loadDemoData(db, session.config.database.dialect, now);
    out.line(out.style.bold(`ontime demo at ${formatUtc(now)}`));
    out.line(`Created ${file} (SQLite), migrated it, and loaded example data dated relative to now:`);
    out.line(`  ${counts.cases} cases (releases and emails due, holds of each kind, statuses 10 and 15)`);
    out.line(`  ${counts.surveys} surveys (deletion in 20 days, 5 days, 10 hours; past deletion; soft-deleted 31 days ago; one under legal hold)`);
    out.line(`  ${counts.responses} survey responses, ${counts.legalHolds} legal hold, ${counts.progress} survey progress rows`);
    out.line(`  ${counts.oldEmails} emails sent 40 days ago, whose recipient and text prune-history clears`);
    out.line(`Mail goes to ${mailDir}/ as .eml files; nothing is sent. Backups go to ${backupDir}/.`);
    return 0;
  });
  if (setup !== 0) return setup;

  const results: Array<{ job: string; exitCode: number; error?: string }> = [];
  for (const def of jobs.filter((j) => j.schedule)) {
    out.line('');
    out.line(out.style.bold(`=== ontime ${def.name} ===`));
    let error: string | undefined;
    const child = await spawnJob({
      args: [def.name, ...(options.verbose ? ['--verbose'] : [])],
      env,
      cwd: inv.cwd,
      onLine: (stream, line) => {
        if (stream === 'stderr' && line.startsWith('error: ')) error = line.slice('error: '.length);
        if (stream === 'stdout') out.line(`  ${line}`);
        else out.notice(`  ${line}`);
      },
    });
    results.push({ job: def.name, exitCode: child.exitCode, error: child.exitCode === 0 ? undefined : error });
  }

  const exitCode = worstExitCode(results.map((r) => r.exitCode));
  out.line('');
  out.line(out.style.bold('What happened'));
  for (const r of results) {
    const mark = r.exitCode === 0 ? out.style.green('ok    ') : out.style.red('FAILED');
    out.line(`  ${mark} ${r.job.padEnd(30)} exit ${r.exitCode} (${exitMeaning(r.exitCode)})${r.error ? `: ${r.error}` : ''}`);
  }
  const prefix = `DATABASE_URL=sqlite:${DEMO_DATABASE} npx ontime`;
  out.line('');
  out.line(out.style.bold('Try next'));
  out.line(`  ${prefix} history                      every run the demo just made`);
  out.line(`  ${prefix} jobs                         schedules, next runs and last results`);
  out.line(`  ${prefix} why process-data-governance  what happened to a job's latest slot`);
  out.line(`  ${prefix} check                        the monitoring probe (Nagios exit codes)`);
  out.line(`  ${prefix} release-scheduled-cases --dry-run --verbose   run a job again: nothing left to do`);
  out.line(`  ${prefix} run-due --dry-run --verbose  what the one-line crontab dispatcher would start now`);
  out.line(`  ${prefix} status                       every job, its runs, locks and outbox in one view`);
  out.line(`  open ${DEMO_STATUS_PAGE}               the status page every run refreshed`);
  out.line(`  ls ${DEMO_MAIL_DIR}/                     the emails the jobs wrote`);
  out.line(`  ls ${DEMO_BACKUP_DIR}/                  the verified backup backup-database took`);
  out.line(`  ${prefix} restore-database ${DEMO_BACKUP_DIR}/<file> --yes   put that backup back`);
  out.line(`  ${prefix} schedule prune-history "0 5 * * *"   set a schedule (--reset restores the default)`);
  out.line(`  npx ontime demo                              start over with fresh data`);
  out.line('');
  out.line(
    exitCode === 0
      ? 'Every job did its work: exit 0.'
      : `Some jobs did not succeed (exit ${exitCode}: ${exitMeaning(exitCode)}); their messages are above.`,
  );
  return exitCode;
}
