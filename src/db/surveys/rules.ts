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
import { identFor, mapped, schemaOf } from '../schema.js';
import { toDbInstant } from '../time.js';

export type WarningDays = 30 | 7 | 1;
export const WARNING_DAYS: readonly WarningDays[] = [30, 7, 1];

/** After soft deletion, the data is kept this long before the hard deletion. */
export const HARD_DELETE_AFTER_DAYS = 30;

export type Db = Knex | Knex.Transaction;

/**
 * The profile's survey-side names on this connection, quoted for raw SQL (q*) and plain for the
 * query builder, and its rules (docs/profiles.md).
 */
export function surveyNames(db: Db) {
  const schema = schemaOf(db);
  const q = identFor(db);
  const surveys = mapped(db, 'surveys');
  const holds = mapped(db, 'legalHolds').table;
  return {
    q,
    rules: schema.profile.rules,
    surveys,
    surveysTable: surveys.table,
    qSurveys: q(surveys.table),
    qHolds: q(holds),
    qWarnings: q(schema.own.deletionWarnings),
    holdsTable: holds,
    warningsTable: schema.own.deletionWarnings,
  };
}

/** Under `surveysEligible: closed`: ` AND <alias>.closed_at IS NOT NULL` (a reopened survey is kept); '' otherwise. */
export function eligibleSql(db: Db, alias: string): string {
  const { q, rules, surveys } = surveyNames(db);
  return rules.surveysEligible === 'closed' && surveys.closedAt ? ` AND ${alias}.${q(surveys.closedAt)} IS NOT NULL` : '';
}

/** The cutoff hardDeletable() binds: deleted_at <= now - N days, or hard_deletion_date <= now. */
export function hardDeletionCutoff(db: Db, now: Date): Date {
  const { rules } = surveyNames(db);
  return rules.hardDeletion === 'hard-deletion-date' ? now : new Date(now.getTime() - rules.hardDeleteAfterDays * 86_400_000);
}

/** `EXISTS (active hold on <surveyIdSql>)`, as SQL. surveyIdSql is a trusted column reference. */
export function activeHoldExists(dialect: Dialect, surveyIdSql: string, qHolds = 'survey_legal_holds'): string {
  return `EXISTS (SELECT 1 FROM ${qHolds} h WHERE h.survey_id = ${surveyIdSql} AND NOT ${holdRemovedSql(dialect, 'h.removed_at')})`;
}

/**
 * The hard-deletion rule for the survey of a row whose survey id is `surveyIdSql`: still
 * soft-deleted on or before the cutoff, and no active hold. Written into every statement that
 * deletes a survey's rows, so a hold placed (or a restore done) after the selection is honoured.
 */
export function hardDeletable(db: Db, dialect: Dialect, surveyIdSql: string): string {
  const n = surveyNames(db);
  // Under `hard-deletion-date` the date the soft deletion set decides; a row without it never goes.
  const due = n.rules.hardDeletion === 'hard-deletion-date' && n.surveys.hardDeletionDate ? `s.${n.q(n.surveys.hardDeletionDate)}` : 's.deleted_at';
  return `EXISTS (SELECT 1 FROM ${n.qSurveys} s WHERE s.id = ${surveyIdSql} AND s.deleted_at IS NOT NULL AND ${due} IS NOT NULL
            AND ${readableSql(dialect, due, 'instant')} AND ${due} <= ?)
          AND NOT ${activeHoldExists(dialect, surveyIdSql, n.qHolds)}`;
}

/** The column hard deletion selects on: deleted_at, or hard_deletion_date under that rule. */
export function hardDeletionColumn(db: Db): string {
  const n = surveyNames(db);
  return n.rules.hardDeletion === 'hard-deletion-date' && n.surveys.hardDeletionDate ? n.surveys.hardDeletionDate : 'deleted_at';
}

/**
 * The hard-deletion rule as a condition on the survey table's own row, unaliased (the guard of
 * db/foreign-keys.ts's deleteWithDependents): soft-deleted, due by the cutoff, no active hold.
 * No subquery on the survey table: MySQL refuses one in a statement that changes that table.
 */
export function hardDeletableGuard(db: Db, dialect: Dialect, cutoff: Date): (qb: Knex.QueryBuilder) => void {
  const n = surveyNames(db);
  const due = `${n.qSurveys}.${n.q(hardDeletionColumn(db))}`;
  const sql = `${n.qSurveys}.deleted_at IS NOT NULL AND ${due} IS NOT NULL AND ${readableSql(dialect, due, 'instant')} AND ${due} <= ?
    AND NOT ${activeHoldExists(dialect, `${n.qSurveys}.id`, n.qHolds)}`;
  return (qb) => {
    qb.whereRaw(sql, [toDbInstant(dialect, cutoff)]);
  };
}

/** Whether a survey has an active legal hold right now. */
export async function hasActiveHold(db: Db, dialect: Dialect, surveyId: number): Promise<boolean> {
  const row = await db(surveyNames(db).holdsTable).where('survey_id', surveyId).whereRaw(`NOT ${holdRemovedSql(dialect, 'removed_at')}`).first('id');
  return Boolean(row);
}


export const placeholders = (ids: readonly number[]) => ids.map(() => '?').join(', ');
