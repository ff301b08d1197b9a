/** system_settings: the application's switches, and `job.<name>.enabled` written by enable/disable. */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { ConfigError } from '../errors.js';
import { toDbInstant } from './time.js';
import { schemaOf } from './schema.js';

export async function getSetting(db: Knex | Knex.Transaction, key: string): Promise<string | undefined> {
  const row = await db(schemaOf(db).settings.table).where({ key }).first('value');
  return row?.value ?? undefined;
}

/** A true/false setting; absent → fallback; anything else is a configuration error naming the key. */
export async function getBooleanSetting(db: Knex | Knex.Transaction, key: string, fallback: boolean): Promise<boolean> {
  const raw = await getSetting(db, key);
  if (raw === undefined) return fallback;
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(`system setting ${key} must be true or false, not "${raw}"`, `fix the row in system_settings`);
}

export async function setSetting(db: Knex | Knex.Transaction, dialect: Dialect, key: string, value: string, now: Date): Promise<void> {
  const updated_at = toDbInstant(dialect, now);
  await db(schemaOf(db).settings.table).insert({ key, value, updated_at }).onConflict('key').merge(['value', 'updated_at']);
}

/** Remove a setting, so its default applies again. */
export async function deleteSetting(db: Knex | Knex.Transaction, key: string): Promise<void> {
  await db(schemaOf(db).settings.table).where({ key }).del();
}
