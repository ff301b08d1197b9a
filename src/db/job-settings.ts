/** `job.<name>.enabled` in system_settings: written by `ontime enable|disable`, read by every run. */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { getSetting, setSetting } from './settings.js';

export function jobEnabledKey(job: string): string {
  return `job.${job}.enabled`;
}

/** The stored value as written (undefined when absent, which means enabled). */
export async function readJobEnabledRaw(db: Knex | Knex.Transaction, job: string): Promise<string | undefined> {
  return getSetting(db, jobEnabledKey(job));
}

export async function writeJobEnabled(db: Knex | Knex.Transaction, dialect: Dialect, job: string, enabled: boolean, now: Date): Promise<void> {
  await setSetting(db, dialect, jobEnabledKey(job), enabled ? 'true' : 'false', now);
}
