/** Rows for tests, written in each dialect's storage form through the data layer's own helpers. */
import type { Knex } from 'knex';
import type { Dialect } from '../../src/config.js';
import { toDbInstant } from '../../src/db/time.js';

export const DAY = 86_400_000;
export const HOUR = 3_600_000;

export function at(iso: string): Date {
  return new Date(iso);
}

export function instant(dialect: Dialect, d: Date | null | undefined): Date | string | null {
  return d ? toDbInstant(dialect, d) : null;
}

export async function insertSurvey(
  knex: Knex,
  dialect: Dialect,
  values: { name?: string; owner_email?: string; deletion_date?: Date | null; deleted_at?: Date | null; closed_at?: Date | null } = {},
): Promise<number> {
  const [row] = await knex('surveys')
    .insert({
      name: values.name ?? 'Survey',
      owner_email: values.owner_email ?? 'owner@example.test',
      owner_name: 'Owner',
      retention_months: 6,
      closed_at: instant(dialect, values.closed_at),
      deletion_date: instant(dialect, values.deletion_date),
      deleted_at: instant(dialect, values.deleted_at),
      created_at: instant(dialect, new Date('2026-01-01T00:00:00Z')),
      updated_at: instant(dialect, new Date('2026-01-01T00:00:00Z')),
    })
    .returning('id');
  return typeof row === 'object' ? Number((row as { id: number }).id) : Number(row);
}

export interface ProgressValues {
  survey_id: number;
  user_id?: number | null;
  session_key?: string | null;
  access_token?: string | null;
  updated_at?: Date | null;
  expires_at?: Date | null;
}

export function progressRow(dialect: Dialect, v: ProgressValues) {
  return {
    survey_id: v.survey_id,
    user_id: v.user_id ?? null,
    session_key: v.session_key ?? null,
    access_token: v.access_token ?? null,
    data: '{}',
    updated_at: instant(dialect, v.updated_at),
    expires_at: instant(dialect, v.expires_at),
  };
}

/** Insert many rows in chunks (SQLite limits bound parameters per statement). */
export async function insertMany(knex: Knex, table: string, rows: Record<string, unknown>[], chunk = 200): Promise<void> {
  for (let i = 0; i < rows.length; i += chunk) await knex(table).insert(rows.slice(i, i + chunk));
}
