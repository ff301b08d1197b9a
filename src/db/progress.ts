/** Queries over survey_progress. */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { toDbInstant } from './time.js';

export interface ProgressRow {
  id: number;
  survey_id: number;
  user_id: number | null;
  session_key: string | null;
  access_token: string | null;
  updated_at: unknown;
  expires_at: unknown;
}

export type ProgressKind = 'authenticated' | 'anonymous' | 'token' | 'unknown';

/** A row may carry more than one identity; the strongest one names it. */
export function progressKind(row: Pick<ProgressRow, 'user_id' | 'session_key' | 'access_token'>): ProgressKind {
  if (row.user_id !== null && row.user_id !== undefined) return 'authenticated';
  if (row.session_key) return 'anonymous';
  if (row.access_token) return 'token';
  return 'unknown';
}

/** Restrict a query to expired progress: `expires_at < now`, or no expiry and `updated_at < staleBefore`. */
export function expiredProgress(q: Knex.QueryBuilder, dialect: Dialect, now: Date, staleBefore: Date): Knex.QueryBuilder {
  return q.where((w) =>
    w
      .where('expires_at', '<', toDbInstant(dialect, now))
      .orWhere((n) => n.whereNull('expires_at').andWhere('updated_at', '<', toDbInstant(dialect, staleBefore))),
  );
}
