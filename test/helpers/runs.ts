/** job_runs rows and job switches for dispatcher and status tests, written in each dialect's form. */
import type { Knex } from 'knex';
import type { Dialect } from '../../src/config.js';
import { fromDbInstant, toDbInstant } from '../../src/db/time.js';
import { jobs } from '../../src/registry.js';

/** Switch every job off except these (system_settings job.<name>.enabled). */
export async function onlyEnable(knex: Knex, names: string[]): Promise<void> {
  await knex('system_settings').where('key', 'like', 'job.%').del();
  for (const def of jobs) {
    if (!names.includes(def.name)) await knex('system_settings').insert({ key: `job.${def.name}.enabled`, value: 'false' });
  }
}

export interface RunValues {
  job: string;
  scheduledFor?: Date | null;
  startedAt: Date;
  finishedAt?: Date | null;
  status: string;
  exitCode?: number | null;
  trigger?: string;
  summary?: Record<string, unknown>;
  error?: string | null;
  host?: string;
}

export async function insertRun(knex: Knex, dialect: Dialect, v: RunValues): Promise<number> {
  const [row] = await knex('job_runs')
    .insert({
      job: v.job,
      trigger: v.trigger ?? (v.scheduledFor ? 'run-due' : 'cli'),
      scheduled_for: v.scheduledFor ? toDbInstant(dialect, v.scheduledFor) : null,
      started_at: toDbInstant(dialect, v.startedAt),
      finished_at: v.finishedAt ? toDbInstant(dialect, v.finishedAt) : null,
      status: v.status,
      exit_code: v.exitCode ?? null,
      host: v.host ?? 'host-a',
      pid: 4242,
      summary: JSON.stringify(v.summary ?? {}),
      error: v.error ?? null,
    })
    .returning('id');
  return typeof row === 'object' ? Number((row as { id: number }).id) : Number(row);
}

/** The slots (ISO) of a job's dispatcher rows, oldest first. */
export async function slotsRun(knex: Knex, job: string): Promise<string[]> {
  const rows = await knex('job_runs').where({ job }).whereNotNull('scheduled_for').orderBy('scheduled_for').select('scheduled_for');
  return rows.map((r) => fromDbInstant(r.scheduled_for)!.toISOString());
}
