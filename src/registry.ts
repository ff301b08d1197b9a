/**
 * Every job ontime knows: the one list that the CLI, run-due, `jobs`, and every export read.
 * Kept free of heavy imports: `ontime --help` loads this file and nothing of knex or a driver.
 */
import { UsageError } from './errors.js';
import { caseIdList, integer, LIMITS, positiveInteger } from './parse.js';
import type { ReadColumn } from './db/readable.js';
import type { JobHandler } from './runner/types.js';
import type { ExternalJobSpec } from './external/validate.js';
import type { Config } from './config.js';

/** A case rule reads its due date and the hold columns. */
const caseColumns = (due: string): ReadColumn[] => [
  ...[due, 'hold_start_date', 'hold_end_date'].map((column): ReadColumn => ({ table: 'cases', column, kind: 'day' })),
  { table: 'cases', column: 'hold_duration_days', kind: 'days' },
];

export interface JobOptionSpec {
  /** commander flags, e.g. `--older-than-days <n>` */
  flags: string;
  description: string;
  /** Turns the text into a value; throws UsageError (exit 64) on a bad one. */
  parse?: (value: string) => unknown;
  defaultValue?: unknown;
}

export interface JobDefinition {
  /** kebab-case, as typed on the command line and stored in job_runs.job */
  name: string;
  /** snake_case, for crontabs written for the Django management commands */
  alias: string;
  description: string;
  /** Five-field cron expression, read in ONTIME_TIMEZONE; null = started by hand only */
  schedule: string | null;
  /** Default --timeout in seconds; also the basis of the lease length and platform time limits */
  timeoutSeconds: number;
  options: JobOptionSpec[];
  /**
   * Checks of the job's own options that need no database (exit 64). Run before connecting, so a
   * wrong command line is refused as such and never recorded as a failed run.
   */
  validate?(options: Record<string, unknown>, config?: Config): Promise<void>;
  /** Stored values the job compares; rows where one is unreadable are skipped and listed. */
  reads?: readonly ReadColumn[];
  load(): Promise<{ default: JobHandler<any> }>;
  /** The words after `ontime` that start this job; default: its name. External jobs: `run <name>`. */
  runArgs?: string[];
  /** Set for a job declared in the jobs file (a command ontime did not write). */
  external?: ExternalJobSpec;
  /**
   * Its rows can be split by `id % n` (--shard i/n, docs/reference/cli.md): every selection of the
   * job applies the shard predicate. Jobs without it refuse --shard (64).
   */
  shardable?: boolean;
}

export const jobs: JobDefinition[] = [
  {
    name: 'release-scheduled-cases',
    shardable: true,
    alias: 'release_scheduled_cases',
    description: 'Release cases whose scheduled release date has come, unless on hold',
    schedule: '0 * * * *',
    timeoutSeconds: 15 * 60,
    options: [],
    reads: caseColumns('scheduled_release_date'),
    load: () => import('./jobs/release-scheduled-cases/index.js'),
  },
  {
    name: 'send-scheduled-emails',
    shardable: true,
    alias: 'send_scheduled_emails',
    description: 'Send the notification email of cases whose scheduled email date has come',
    schedule: '5 * * * *',
    timeoutSeconds: 15 * 60,
    options: [],
    reads: caseColumns('scheduled_email_date'),
    load: () => import('./jobs/send-scheduled-emails/index.js'),
  },
  {
    name: 'weekly-pending-payment-update',
    shardable: true,
    alias: 'weekly_pending_payment_update',
    description: 'Move every case from status 10 (ready for billing) to 15 (pending payment)',
    schedule: '0 8 * * 1',
    timeoutSeconds: 30 * 60,
    options: [],
    load: () => import('./jobs/weekly-pending-payment-update/index.js'),
  },
  {
    name: 'weekly-paid-update',
    shardable: true,
    alias: 'weekly_paid_update',
    description: 'Move every case from status 15 (pending payment) to 20 (paid)',
    schedule: '0 8 * * 4',
    timeoutSeconds: 30 * 60,
    options: [],
    load: () => import('./jobs/weekly-paid-update/index.js'),
  },
  {
    name: 'bulk-update-case-status',
    shardable: true,
    alias: 'bulk_update_case_status',
    description: 'Move cases from one status to another (backward moves need --force)',
    schedule: null,
    timeoutSeconds: 30 * 60,
    options: [
      { flags: '--from <status>', description: 'current status of the cases to move (required)', parse: integer('--from', -LIMITS.int32 - 1, LIMITS.int32) },
      { flags: '--to <status>', description: 'status to move them to (required)', parse: integer('--to', -LIMITS.int32 - 1, LIMITS.int32) },
      { flags: '--ids <ids>', description: 'only these case ids, comma-separated (string keys under a profile that has them)', parse: caseIdList('--ids') },
      { flags: '--force', description: 'allow a backward move (to a lower status)' },
    ],
    validate: async (options) => {
      (await import('./jobs/shared/case-status-move.js')).validateStatusMove(options);
    },
    load: () => import('./jobs/bulk-update-case-status/index.js'),
  },
  {
    name: 'process-data-governance',
    shardable: true,
    alias: 'process_data_governance',
    description: 'GDPR retention: deletion warnings, soft deletion, hard deletion 30 days later; legal holds respected',
    schedule: '0 2 * * *',
    timeoutSeconds: 60 * 60,
    options: [],
    reads: [
      { table: 'surveys', column: 'deletion_date', kind: 'instant' },
      { table: 'surveys', column: 'deleted_at', kind: 'instant' },
      // An unreadable removal keeps the hold active (it protects its survey); listed all the same.
      { table: 'survey_legal_holds', column: 'removed_at', kind: 'instant' },
    ],
    load: () => import('./jobs/data-governance/index.js'),
  },
  {
    name: 'cleanup-survey-progress',
    shardable: true,
    alias: 'cleanup_survey_progress',
    description: 'Delete expired survey progress (abandoned drafts)',
    schedule: '0 3 * * *',
    timeoutSeconds: 30 * 60,
    options: [
      {
        flags: '--older-than-days <n>',
        // No commander default: the profile's (docs/profiles.md) applies when the flag is absent.
        description: "progress without expires_at (or any, under the expired-or-stale rule) is expired when not updated for this many days (default: the profile's, 30 under ontime, 90 under checktick)",
        parse: positiveInteger('--older-than-days', LIMITS.days),
      },
    ],
    reads: [
      { table: 'survey_progress', column: 'expires_at', kind: 'instant' },
      { table: 'survey_progress', column: 'updated_at', kind: 'instant' },
    ],
    load: () => import('./jobs/cleanup-survey-progress/index.js'),
  },
  {
    name: 'prune-history',
    alias: 'prune_history',
    description: "Delete old job runs, clear old emails' personal data, archive old audit rows (with --audit-days)",
    schedule: '30 4 * * *',
    timeoutSeconds: 30 * 60,
    options: [
      { flags: '--runs-days <n>', description: 'delete job runs finished more than n days ago (each job keeps its newest 20)', parse: positiveInteger('--runs-days', LIMITS.days), defaultValue: 90 },
      { flags: '--outbox-days <n>', description: 'clear recipient, subject and body of messages sent or failed more than n days ago', parse: positiveInteger('--outbox-days', LIMITS.days), defaultValue: 30 },
      { flags: '--audit-days <n>', description: 'archive audit rows older than n days to ONTIME_ARCHIVE_DIR, then delete them', parse: positiveInteger('--audit-days', LIMITS.days) },
    ],
    validate: async (options, config) => {
      (await import('./jobs/prune-history/index.js')).validatePruneOptions(options, config);
    },
    load: () => import('./jobs/prune-history/index.js'),
  },
  {
    name: 'backup-database',
    alias: 'backup_database',
    description: 'Back up the database into ONTIME_BACKUP_DIR (SQLite online backup, pg_dump, mariadb-dump), verified; keep the newest --keep',
    schedule: '15 1 * * *',
    timeoutSeconds: 60 * 60,
    options: [{ flags: '--keep <n>', description: 'how many backups to keep (older ones are deleted after the new one is verified)', parse: positiveInteger('--keep', 10_000), defaultValue: 7 }],
    load: () => import('./jobs/backup-database/index.js'),
  },
  {
    name: 'weekly-report',
    alias: 'weekly_report',
    description: 'Mail ONTIME_REPORT_EMAILS a summary of the previous ISO week: job runs, data governance, outbox',
    schedule: '0 7 * * 1',
    timeoutSeconds: 15 * 60,
    options: [],
    load: () => import('./jobs/weekly-report/index.js'),
  },
];

export function findJob(nameOrAlias: string): JobDefinition | undefined {
  return jobs.find((j) => j.name === nameOrAlias || j.alias === nameOrAlias);
}

/**
 * The job a command line names (kebab-case name or snake_case alias), or a usage error (64) that
 * lists the jobs: the one message for an unknown job, whichever command was given it.
 */
export function resolveJob(nameOrAlias: string): JobDefinition {
  const job = findJob(nameOrAlias);
  if (job) return job;
  throw new UsageError(`unknown job "${nameOrAlias}"; jobs: ${jobs.map((j) => j.name).join(', ')}`, '`ontime jobs` lists them with their schedules');
}

/** The built-in jobs come first; the jobs file's entries follow once it has been read. */
const builtInCount = jobs.length;

export function builtInJobNames(): ReadonlySet<string> {
  return new Set(jobs.slice(0, builtInCount).flatMap((j) => [j.name, j.alias]));
}

/** Put the jobs file's jobs after the built-in ones (replacing those of an earlier read). */
export function setExternalJobs(defs: JobDefinition[]): void {
  jobs.splice(builtInCount, jobs.length - builtInCount, ...defs);
}

/** The words after `ontime` that start a job. */
export function startArgs(def: Pick<JobDefinition, 'name' | 'runArgs'>): string[] {
  return def.runArgs ?? [def.name];
}
