/**
 * A job's settings in system_settings, read and written in this one place: `job.<name>.enabled`
 * (`ontime enable|disable`, read by every run) and `job.<name>.schedule` (`ontime schedule`).
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { ConfigError } from '../errors.js';
import { jobs, type JobDefinition } from '../registry.js';
import { getBooleanSetting, setSetting } from './settings.js';
import { schemaOf } from './schema.js';

export function jobEnabledKey(job: string): string {
  return `job.${job}.enabled`;
}

/**
 * Whether the job may run. Absent means enabled; `false`/`0`/`no`/`off` disabled; anything else is
 * a configuration error naming the setting (78), so a hand-edited typo is never silently read
 * either way.
 */
export async function isJobEnabled(db: Knex | Knex.Transaction, job: string): Promise<boolean> {
  return getBooleanSetting(db, jobEnabledKey(job), true);
}

export async function writeJobEnabled(db: Knex | Knex.Transaction, dialect: Dialect, job: string, enabled: boolean, now: Date): Promise<void> {
  await setSetting(db, dialect, jobEnabledKey(job), enabled ? 'true' : 'false', now);
}

// ---------------------------------------------------------------------------------------------
// `job.<name>.schedule`: a schedule set by the operator (`ontime schedule`), read by everything
// that plans or reports runs: run-due, work, jobs, why, check, status, export.

export function jobScheduleKey(job: string): string {
  return `job.${job}.schedule`;
}

/** A registry job with the schedule in force: the operator's, when one is stored, else the default. */
export interface ScheduledJob extends JobDefinition {
  /** The registry's own schedule. */
  defaultSchedule: string | null;
  /** True when `schedule` comes from system_settings. */
  scheduleOverridden: boolean;
}

/** Check an expression for `ontime schedule`; throws CronExpressionError naming the faulty field. */
export async function checkScheduleExpression(expression: string): Promise<string> {
  const { parseCron } = await import('../schedule/cron.js');
  return parseCron(expression).expression;
}

/**
 * Every job with its schedule in force, in registry order, from one query. A stored expression
 * that does not parse (edited by hand) is a configuration error naming the key (78): a job must
 * never silently fall back to a schedule the operator replaced.
 */
export async function jobsWithSchedules(db: Knex | Knex.Transaction, list: readonly JobDefinition[] = jobs): Promise<ScheduledJob[]> {
  const rows: Array<{ key: string; value: string }> = await db(schemaOf(db).settings.table).where('key', 'like', 'job.%.schedule').select('key', 'value');
  const stored = new Map(rows.map((r) => [r.key, r.value]));
  const { parseCron } = await import('../schedule/cron.js');
  return list.map((def) => {
    const value = stored.get(jobScheduleKey(def.name));
    if (value === undefined || def.schedule === null) return { ...def, defaultSchedule: def.schedule, scheduleOverridden: false };
    try {
      return { ...def, schedule: parseCron(value).expression, defaultSchedule: def.schedule, scheduleOverridden: true };
    } catch (err) {
      throw new ConfigError(`system setting ${jobScheduleKey(def.name)}: ${(err as Error).message}`, `set it again with \`ontime schedule ${def.name} "<cron>"\`, or remove it with --reset`);
    }
  });
}

export async function writeJobSchedule(db: Knex | Knex.Transaction, dialect: Dialect, job: string, expression: string | null, now: Date): Promise<void> {
  if (expression === null) await db(schemaOf(db).settings.table).where({ key: jobScheduleKey(job) }).del();
  else await setSetting(db, dialect, jobScheduleKey(job), expression, now);
}
