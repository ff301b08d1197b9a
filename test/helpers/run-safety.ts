/** Shared pieces of the run-safety tests: expired progress to delete, job_runs rows to read. */
import type { Knex } from 'knex';
import type { RunHooks } from '../../src/runner/hooks.js';
import type { Dialect } from '../../src/config.js';
import { DAY, insertMany, insertSurvey, progressRow } from './fixtures.js';

export const JOB = 'cleanup-survey-progress';

/** `expired` rows the cleanup deletes, and `fresh` ones it must keep. */
export async function seedProgress(knex: Knex, dialect: Dialect, expired: number, fresh = 2): Promise<void> {
  const survey = await insertSurvey(knex, dialect);
  const past = new Date(Date.now() - DAY);
  const future = new Date(Date.now() + 30 * DAY);
  const rows = [
    ...Array.from({ length: expired }, (_, i) => progressRow(dialect, { survey_id: survey, session_key: `s${i}`, expires_at: past })),
    ...Array.from({ length: fresh }, (_, i) => progressRow(dialect, { survey_id: survey, session_key: `f${i}`, expires_at: future })),
  ];
  await insertMany(knex, 'survey_progress', rows);
}

export async function progressCount(knex: Knex): Promise<number> {
  const row = await knex('survey_progress').count({ n: '*' }).first();
  return Number(row?.n);
}

export interface RunRow {
  id: number;
  status: string;
  exit_code: number | null;
  trigger: string;
  host: string | null;
  pid: number | null;
  error: string | null;
  summary: Record<string, any>;
  scheduled_for: unknown;
  finished_at: unknown;
}

export async function runRows(knex: Knex, job = JOB): Promise<RunRow[]> {
  const rows = await knex('job_runs').where({ job }).orderBy('id');
  return rows.map((r: any) => ({ ...r, id: Number(r.id), exit_code: r.exit_code === null ? null : Number(r.exit_code), summary: JSON.parse(r.summary ?? '{}') }));
}

/** Rows deleted by one run, from the audit rows its batches wrote. */
export async function deletedByRun(knex: Knex, runId: number): Promise<number> {
  const rows = await knex('audit_log').where({ run_id: runId, action: 'survey_progress.deleted' }).select('details');
  return rows.reduce((sum: number, r: any) => sum + Number(JSON.parse(r.details).deleted), 0);
}

export const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

/** Test seams that make every batch of a real run wait `ms` first (so the time limit hits between batches). */
export function slowBatches(ms: number): Partial<RunHooks> {
  return { beforeCheckpoint: () => sleep(ms) };
}
