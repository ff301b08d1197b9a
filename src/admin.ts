/**
 * Every admin command ontime knows, declared like the jobs in registry.ts: what it is called, its
 * argument, its options, and what it needs before it starts — nothing (`none`: it handles its own
 * configuration, as `doctor` and `export` do), a connection (`db`), or a connection to a migrated
 * database (`migrated-db`). The runner (runner/admin.ts) does those pre-steps once for all of them,
 * and resolves a job argument through registry.resolveJob(). Kept free of heavy imports:
 * `ontime --help` reads this table; each command's module loads only when it runs.
 *
 * Adding one: write src/commands/<name>.ts (a default export taking an AdminContext and the
 * options, or for `none` the options and the Invocation), then add its entry here.
 */
import { calendarDay, LIMITS, parseInstant, positiveInteger } from './parse.js';
import type { AdminModule, StandaloneModule } from './runner/admin.js';

export interface AdminOptionSpec {
  /** commander flags, e.g. `--limit <n>` */
  flags: string;
  description: string;
  /** Turns the text into a value; throws UsageError (exit 64) on a bad one. */
  parse?: (value: string) => unknown;
}

export interface AdminArgument {
  /** Shown in usage: `<job>` when required, `[job]` when not. */
  name: string;
  required: boolean;
  /** A job name or alias: resolved before connecting; the command gets the JobDefinition. */
  job?: boolean;
  /** Further positional arguments after it, in commander's notation (e.g. `[cron]`). */
  more?: string;
}

interface AdminBase {
  name: string;
  description: string;
  argument?: AdminArgument;
  options: AdminOptionSpec[];
}

/** A command run inside the shared session (configuration, output, errors → exit codes, closing). */
export interface SessionCommand extends AdminBase {
  needs: 'db' | 'migrated-db';
  /** Extra fields of the JSON printed when the command fails under --json. */
  jsonOnError?: (options: Record<string, unknown>) => Record<string, unknown>;
  load(): Promise<AdminModule>;
}

/** A command that reads configuration its own way (it reports problems with it, or needs none). */
export interface StandaloneCommand extends AdminBase {
  needs: 'none';
  load(): Promise<StandaloneModule>;
}

export type AdminCommand = SessionCommand | StandaloneCommand;

const json: AdminOptionSpec = { flags: '--json', description: 'print the result as JSON on stdout' };
const verbose: AdminOptionSpec = { flags: '--verbose', description: 'show more detail, and stack traces of errors' };
const nowOption = (description: string): AdminOptionSpec => ({ flags: '--now <instant>', description, parse: parseInstant('--now') });
const jobArgument: AdminArgument = { name: 'job', required: true, job: true };

export const adminCommands: readonly AdminCommand[] = [
  {
    name: 'migrate',
    description: 'apply pending database migrations (safe to repeat)',
    needs: 'db',
    options: [
      { flags: '--status', description: 'list applied and pending migrations; change nothing' },
      { flags: '--rollback', description: 'revert the last batch of migrations (drops tables: needs --yes)' },
      { flags: '--yes', description: 'confirm --rollback' },
      { flags: '--force-drop-data <database>', description: 'let --rollback drop tables that hold rows: repeat the database name' },
      json,
      verbose,
    ],
    load: () => import('./commands/migrate.js'),
  },
  {
    name: 'jobs',
    description: 'every job: schedule, enabled, next run, runs and failures of the last 30 days, last run and result',
    needs: 'migrated-db',
    options: [nowOption('evaluate as of this instant'), json, verbose],
    load: () => import('./commands/jobs.js'),
  },
  {
    name: 'history',
    // Not resolved through the registry: an `ontime exec --name …` job has runs but no entry.
    argument: { name: 'job', required: false },
    description: 'recent runs (job_runs), newest first',
    needs: 'migrated-db',
    options: [
      { flags: '--limit <n>', description: 'how many runs to show (default 20)', parse: positiveInteger('--limit', LIMITS.limit) },
      { flags: '--status <status>', description: 'only runs that ended so: succeeded, partial, failed, skipped, interrupted, abandoned, running' },
      json,
      verbose,
    ],
    load: () => import('./commands/history.js'),
  },
  {
    name: 'locks',
    description: 'held job locks with holder, since and expiry',
    needs: 'migrated-db',
    options: [
      { flags: '--release <job>', description: 'free the lease a dead host left behind (needs --yes)' },
      { flags: '--yes', description: 'confirm --release' },
      json,
      verbose,
    ],
    load: () => import('./commands/locks.js'),
  },
  {
    name: 'run-due',
    description: 'run every enabled job whose latest schedule slot has not run yet (for one `* * * * *` crontab line)',
    needs: 'migrated-db',
    jsonOnError: (options) => ({ now: ((options.now as Date | undefined) ?? new Date()).toISOString() }),
    options: [nowOption('evaluate the schedule as of this instant'), { flags: '--dry-run', description: 'say what would run; run nothing' }, json, verbose],
    load: () => import('./commands/run-due.js'),
  },
  {
    name: 'work',
    description: 'foreground loop: run-due at the top of every minute, for hosts without cron (stops on SIGTERM)',
    needs: 'migrated-db',
    options: [verbose],
    load: () => import('./commands/work.js'),
  },
  {
    name: 'why',
    argument: jobArgument,
    description: "explain the job's latest schedule slot (ran, skipped, disabled, not yet due) and its next one",
    needs: 'migrated-db',
    options: [nowOption('evaluate as of this instant'), json, verbose],
    load: () => import('./commands/why.js'),
  },
  {
    name: 'enable',
    argument: { name: 'job', required: false, job: true },
    description: 'enable a job (stored in system_settings)',
    needs: 'migrated-db',
    options: [{ flags: '--all', description: 'enable every job at once' }, json, verbose],
    load: () => import('./commands/enable-disable.js').then((m) => ({ default: m.enable, validate: m.validateFor('enable') })),
  },
  {
    name: 'disable',
    argument: { name: 'job', required: false, job: true },
    description: 'disable a job: wherever it is started from, it exits 0 with a note',
    needs: 'migrated-db',
    options: [{ flags: '--all', description: 'disable every job at once (an emergency stop)' }, json, verbose],
    load: () => import('./commands/enable-disable.js').then((m) => ({ default: m.disable, validate: m.validateFor('disable') })),
  },
  {
    name: 'notify',
    argument: { name: 'job', required: true, more: '[policy]' },
    description: 'when ONTIME_ALERT_EMAILS is mailed about a job: always, failure, never, or default (ONTIME_NOTIFY); no policy shows it',
    needs: 'none',
    options: [json, verbose],
    load: () => import('./commands/notify.js'),
  },
  {
    name: 'check',
    description: 'monitoring probe with Nagios exit codes: 0 all on time and green, 1 late or partial, 2 failed or never ran',
    // Its own session: Nagios wants a status line (exit 3) even when nothing can be read.
    needs: 'none',
    options: [nowOption('evaluate as of this instant'), json, verbose],
    load: () => import('./commands/check.js'),
  },
  {
    name: 'status',
    description: 'every job, its latest runs as a strip, failed runs with their error, locks, outbox backlog and what check says',
    needs: 'none',
    options: [
      { flags: '--html <file>', description: 'write the page as one self-contained HTML file (atomically)' },
      { flags: '--prometheus', description: "print the Prometheus series of every job's latest run (as `ontime metrics`)" },
      nowOption('evaluate as of this instant'),
      json,
      verbose,
    ],
    load: () => import('./commands/status.js'),
  },
  {
    name: 'report',
    argument: { name: 'report', required: true },
    description: 'governance: warnings, soft and hard deletions, legal-hold skips per day, from audit_log (no personal data)',
    needs: 'none',
    options: [
      { flags: '--from <day>', description: 'first day, YYYY-MM-DD in ONTIME_TIMEZONE (default: 30 days up to --to)', parse: calendarDay('--from') },
      { flags: '--to <day>', description: 'last day, included (default: today)', parse: calendarDay('--to') },
      { flags: '--format <format>', description: 'text (default), csv (RFC 4180), json or html' },
      { flags: '--out <file>', description: 'write to this file (atomically) instead of stdout' },
      verbose,
    ],
    load: () => import('./commands/report.js'),
  },
  {
    name: 'metrics',
    description: "Prometheus series of every job's latest run and of the outbox, on stdout (for an exporter or a textfile)",
    // Its own session: prints what it can read, like check.
    needs: 'none',
    options: [verbose],
    load: () => import('./commands/metrics.js'),
  },
  {
    name: 'doctor',
    description: 'check configuration, database, migrations, SMTP and clock; print the fix for each problem',
    // Reports a broken configuration or database as findings instead of stopping at the first.
    needs: 'none',
    options: [
      { flags: '--fix-timestamps', description: 'SQLite: rewrite instants and days stored in another spelling to the canonical form (needs --yes)' },
      { flags: '--yes', description: 'confirm --fix-timestamps' },
      json,
      verbose,
    ],
    load: () => import('./commands/doctor.js'),
  },
  {
    name: 'export',
    argument: { name: 'platform', required: true },
    description: 'print the schedule for crontab, schtasks (Windows), k8s or systemd, from the job registry',
    needs: 'none',
    options: [
      { flags: '--command <prefix>', description: 'how to start ontime on the target, in exec form (default: this installation by absolute path; k8s, schtasks: ontime)' },
      { flags: '--cwd <dir>', description: 'working directory of the jobs' },
      { flags: '--env-file <file>', description: 'environment file the jobs read' },
      { flags: '--log-dir <dir>', description: 'directory for log files (crontab, schtasks)' },
      { flags: '--image <image>', description: 'container image (k8s)' },
      { flags: '--namespace <ns>', description: 'namespace (k8s)' },
      { flags: '--secret <name>', description: 'Secret holding the environment (k8s)' },
      { flags: '--name-prefix <prefix>', description: 'prefix of every object name, for two deployments in one namespace (k8s)' },
      { flags: '--shards <n>', description: 'run each shardable job as an Indexed Job of n pods, one shard (--shard i/n) each (k8s)' },
      { flags: '--secrets-as-files [names]', description: 'mount the Secret as files and set <NAME>_FILE (default DATABASE_URL,EMAIL_HOST_PASSWORD) (k8s)' },
      { flags: '--randomized-delay <duration>', description: 'RandomizedDelaySec for timers (systemd)' },
      { flags: '--out <dir>', description: 'write one file per job into this directory instead of printing' },
      { flags: '--defaults', description: 'export the built-in schedules without reading the database' },
      verbose,
    ],
    load: () => import('./commands/export.js'),
  },
  {
    name: 'schedule',
    argument: { name: 'job', required: true, more: '[cron]' },
    description: "set a job's schedule (stored in system_settings; run-due, jobs, why, check and export follow it); --reset restores the default",
    needs: 'none',
    options: [{ flags: '--reset', description: 'remove the stored schedule: back to the built-in default' }, json, verbose],
    load: () => import('./commands/schedule.js'),
  },
  {
    name: 'restore-database',
    argument: { name: 'file', required: true },
    description: 'SQLite only: replace the database with a backup-database copy (the current file is copied aside first)',
    needs: 'none',
    options: [{ flags: '--yes', description: 'confirm: everything in the database is replaced' }, json, verbose],
    load: () => import('./commands/restore-database.js'),
  },
  {
    name: 'demo',
    description: 'try ontime with no setup: a SQLite demo database with example data, every job run, what to try next',
    // Its own SQLite database, whatever DATABASE_URL says.
    needs: 'none',
    options: [verbose],
    load: () => import('./commands/demo.js'),
  },
];
