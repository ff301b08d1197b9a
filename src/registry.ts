/**
 * Every job ontime knows: the one list that the CLI, run-due, `jobs`, and every export read.
 * Kept free of heavy imports: `ontime --help` loads this file and nothing of knex or a driver.
 */
import { integer, idList, LIMITS, positiveInteger } from './parse.js';
import type { JobHandler } from './runner/types.js';

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
  validate?(options: Record<string, unknown>): Promise<void>;
  load(): Promise<{ default: JobHandler<any> }>;
}

export const jobs: readonly JobDefinition[] = [
  {
    name: 'release-scheduled-cases',
    alias: 'release_scheduled_cases',
    description: 'Release cases whose scheduled release date has come, unless on hold',
    schedule: '0 * * * *',
    timeoutSeconds: 15 * 60,
    options: [],
    load: () => import('./commands/release-scheduled-cases.js'),
  },
  {
    name: 'send-scheduled-emails',
    alias: 'send_scheduled_emails',
    description: 'Send the notification email of cases whose scheduled email date has come',
    schedule: '5 * * * *',
    timeoutSeconds: 15 * 60,
    options: [],
    load: () => import('./commands/send-scheduled-emails.js'),
  },
  {
    name: 'weekly-pending-payment-update',
    alias: 'weekly_pending_payment_update',
    description: 'Move every case from status 10 (ready for billing) to 15 (pending payment)',
    schedule: '0 8 * * 1',
    timeoutSeconds: 30 * 60,
    options: [],
    load: () => import('./commands/weekly-pending-payment-update.js'),
  },
  {
    name: 'weekly-paid-update',
    alias: 'weekly_paid_update',
    description: 'Move every case from status 15 (pending payment) to 20 (paid)',
    schedule: '0 8 * * 4',
    timeoutSeconds: 30 * 60,
    options: [],
    load: () => import('./commands/weekly-paid-update.js'),
  },
  {
    name: 'bulk-update-case-status',
    alias: 'bulk_update_case_status',
    description: 'Move cases from one status to another (backward moves need --force)',
    schedule: null,
    timeoutSeconds: 30 * 60,
    options: [
      { flags: '--from <status>', description: 'current status of the cases to move (required)', parse: integer('--from', -LIMITS.int32 - 1, LIMITS.int32) },
      { flags: '--to <status>', description: 'status to move them to (required)', parse: integer('--to', -LIMITS.int32 - 1, LIMITS.int32) },
      { flags: '--ids <ids>', description: 'only these case ids, comma-separated', parse: idList('--ids') },
      { flags: '--force', description: 'allow a backward move (to a lower status)' },
    ],
    validate: async (options) => {
      (await import('./jobs/case-status.js')).validateStatusMove(options);
    },
    load: () => import('./commands/bulk-update-case-status.js'),
  },
  {
    name: 'process-data-governance',
    alias: 'process_data_governance',
    description: 'GDPR retention: deletion warnings, soft deletion, hard deletion 30 days later; legal holds respected',
    schedule: '0 2 * * *',
    timeoutSeconds: 60 * 60,
    options: [],
    load: () => import('./commands/process-data-governance.js'),
  },
  {
    name: 'cleanup-survey-progress',
    alias: 'cleanup_survey_progress',
    description: 'Delete expired survey progress (abandoned drafts)',
    schedule: '0 3 * * *',
    timeoutSeconds: 30 * 60,
    options: [
      {
        flags: '--older-than-days <n>',
        description: 'progress without expires_at is expired when not updated for this many days',
        parse: positiveInteger('--older-than-days', LIMITS.days),
        defaultValue: 30,
      },
    ],
    load: () => import('./commands/cleanup-survey-progress.js'),
  },
];

export function findJob(nameOrAlias: string): JobDefinition | undefined {
  return jobs.find((j) => j.name === nameOrAlias || j.alias === nameOrAlias);
}
