/**
 * The rules of data governance as SQL, in one place (docs/reference/schema.md):
 *   - a legal hold is active unless removed_at is set and readable (db/readable.ts), and an active
 *     hold stops every step;
 *   - a survey is hard-deletable once soft-deleted on or before the cutoff (30 days ago) and not held.
 * They are written into every statement that changes a survey or deletes its rows, not only into
 * the selection: a hold placed after a survey was selected and before it was changed still
 * protects it. The selections report whether a survey is held (to count it as skipped) instead of
 * silently leaving it out.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../../config.js';
import { holdRemovedSql, readableSql } from '../readable.js';

export type WarningDays = 30 | 7 | 1;
export const WARNING_DAYS: readonly WarningDays[] = [30, 7, 1];

/** After soft deletion, the data is kept this long before the hard deletion. */
export const HARD_DELETE_AFTER_DAYS = 30;

export type Db = Knex | Knex.Transaction;

/** `EXISTS (active hold on <surveyIdSql>)`, as SQL. surveyIdSql is a trusted column reference. */
export function activeHoldExists(dialect: Dialect, surveyIdSql: string): string {
  return `EXISTS (SELECT 1 FROM survey_legal_holds h WHERE h.survey_id = ${surveyIdSql} AND NOT ${holdRemovedSql(dialect, 'h.removed_at')})`;
}

/**
 * The hard-deletion rule for the survey of a row whose survey id is `surveyIdSql`: still
 * soft-deleted on or before the cutoff, and no active hold. Written into every statement that
 * deletes a survey's rows, so a hold placed (or a restore done) after the selection is honoured.
 */
export function hardDeletable(dialect: Dialect, surveyIdSql: string): string {
  return `EXISTS (SELECT 1 FROM surveys s WHERE s.id = ${surveyIdSql} AND s.deleted_at IS NOT NULL
            AND ${readableSql(dialect, 's.deleted_at', 'instant')} AND s.deleted_at <= ?)
          AND NOT ${activeHoldExists(dialect, surveyIdSql)}`;
}

/** Whether a survey has an active legal hold right now. */
export async function hasActiveHold(db: Db, dialect: Dialect, surveyId: number): Promise<boolean> {
  const row = await db('survey_legal_holds').where('survey_id', surveyId).whereRaw(`NOT ${holdRemovedSql(dialect, 'removed_at')}`).first('id');
  return Boolean(row);
}


export const placeholders = (ids: readonly number[]) => ids.map(() => '?').join(', ');
