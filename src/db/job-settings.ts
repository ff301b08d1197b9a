/** `job.<name>.enabled` in system_settings: written by `ontime enable|disable`, read by every run. */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { getBooleanSetting, setSetting } from './settings.js';

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
