/**
 * Queries over surveys and their children for the data governance job.
 *
 * The legal-hold rule (schema.md: a hold with removed_at null is active) is written into every
 * statement that changes a survey or deletes its rows, not only into the selection: a hold placed
 * after a survey was selected and before it was changed still protects it. The selections report
 * whether a survey is held (to count it as skipped) instead of silently leaving it out.
 *
 * Every instant is bound through toDbInstant, so SQLite's text comparison stays chronological.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { DAY_MS, toDbInstant } from './time.js';

export type WarningDays = 30 | 7 | 1;
export const WARNING_DAYS: readonly WarningDays[] = [30, 7, 1];

/** After soft deletion, the data is kept this long before the hard deletion. */
export const HARD_DELETE_AFTER_DAYS = 30;

type Db = Knex | Knex.Transaction;

/** `EXISTS (active hold on <surveyIdSql>)`, as SQL. surveyIdSql is a trusted column reference. */
function activeHoldExists(surveyIdSql: string): string {
  return `EXISTS (SELECT 1 FROM survey_legal_holds h WHERE h.survey_id = ${surveyIdSql} AND h.removed_at IS NULL)`;
}

const toBool = (v: unknown) => v === true || v === 1 || v === '1' || v === 't';

export interface WarningCandidate {
  id: number;
  name: string;
  owner_email: string | null;
  owner_name: string | null;
  deletion_date: unknown;
  /** The applicable warning for the time left: the smallest of 30, 7, 1 days that is >= it. */
  days: WarningDays;
  /** A warning with these days for this very deletion_date is already recorded. */
  warned: boolean;
  held: boolean;
}

/**
 * Live surveys whose deletion_date is after now and at most 30 days away, with their applicable
 * warning computed in SQL (so the boundaries are the database's own comparisons, microseconds
 * included) and whether that warning was already recorded for the current deletion_date.
 */
export async function warningCandidates(db: Db, dialect: Dialect, now: Date, afterId: number, size: number): Promise<WarningCandidate[]> {
  const at = (days: number) => toDbInstant(dialect, new Date(now.getTime() + days * DAY_MS));
  const daysCase = `CASE WHEN s.deletion_date <= ? THEN 1 WHEN s.deletion_date <= ? THEN 7 ELSE 30 END`;
  const rows = await db('surveys as s')
    .select('s.id', 's.name', 's.owner_email', 's.owner_name', 's.deletion_date')
    .select(db.raw(`${daysCase} AS days`, [at(1), at(7)]))
    .select(
      db.raw(
        `CASE WHEN EXISTS (SELECT 1 FROM survey_deletion_warnings w WHERE w.survey_id = s.id AND w.deletion_date = s.deletion_date AND w.days_before = ${daysCase}) THEN 1 ELSE 0 END AS warned`,
        [at(1), at(7)],
      ),
    )
    .select(db.raw(`CASE WHEN ${activeHoldExists('s.id')} THEN 1 ELSE 0 END AS held`))
    .whereNull('s.deleted_at')
    .whereNotNull('s.deletion_date')
    .where('s.deletion_date', '>', toDbInstant(dialect, now))
    .where('s.deletion_date', '<=', at(30))
    .where('s.id', '>', afterId)
    .orderBy('s.id')
    .limit(size);
  return rows.map((r: Record<string, unknown>) => ({
    id: Number(r.id),
    name: String(r.name),
    owner_email: (r.owner_email as string | null) ?? null,
    owner_name: (r.owner_name as string | null) ?? null,
    deletion_date: r.deletion_date,
    days: Number(r.days) as WarningDays,
    warned: toBool(r.warned),
    held: toBool(r.held),
  }));
}

/**
 * Just before a warning goes out: is the survey still live, unheld, and still due for deletion at
 * the instant we are about to announce (to the millisecond)?
 */
export async function stillWarnable(db: Db, dialect: Dialect, surveyId: number, announced: Date): Promise<'ok' | 'held' | 'changed'> {
  const row = await db('surveys as s')
    .select('s.id')
    .select(db.raw(`CASE WHEN ${activeHoldExists('s.id')} THEN 1 ELSE 0 END AS held`))
    .where('s.id', surveyId)
    .whereNull('s.deleted_at')
    .where('s.deletion_date', '>=', toDbInstant(dialect, announced))
    .where('s.deletion_date', '<', toDbInstant(dialect, new Date(announced.getTime() + 1)))
    .first();
  if (!row) return 'changed';
  return toBool((row as Record<string, unknown>).held) ? 'held' : 'ok';
}

/**
 * Record a warning as sent. The deletion_date is copied from the survey row itself when it still
 * holds the announced instant, so it equals the stored value exactly (microseconds included) and
 * the next run recognises it; otherwise the announced instant is recorded as it was sent.
 * Returns false when the same warning was already recorded.
 */
export async function recordWarning(
  db: Db,
  dialect: Dialect,
  w: { surveyId: number; days: WarningDays; announced: Date; sentAt: Date },
): Promise<boolean> {
  const lo = toDbInstant(dialect, w.announced);
  const hi = toDbInstant(dialect, new Date(w.announced.getTime() + 1));
  const copied = await db.raw(
    `INSERT INTO survey_deletion_warnings (survey_id, days_before, deletion_date, sent_at)
     SELECT s.id, ?, s.deletion_date, ? FROM surveys s
      WHERE s.id = ? AND s.deletion_date >= ? AND s.deletion_date < ?
        AND NOT EXISTS (SELECT 1 FROM survey_deletion_warnings w
                         WHERE w.survey_id = s.id AND w.days_before = ? AND w.deletion_date = s.deletion_date)`,
    [w.days, toDbInstant(dialect, w.sentAt), w.surveyId, lo, hi, w.days],
  );
  if (affectedRows(dialect, copied) > 0) return true;
  const existing = await db('survey_deletion_warnings')
    .where({ survey_id: w.surveyId, days_before: w.days })
    .where('deletion_date', '>=', lo)
    .where('deletion_date', '<', hi)
    .first('id');
  if (existing) return false;
  const exists = await db('surveys').where('id', w.surveyId).first('id');
  if (!exists) return false;
  await db('survey_deletion_warnings').insert({
    survey_id: w.surveyId,
    days_before: w.days,
    deletion_date: lo,
    sent_at: toDbInstant(dialect, w.sentAt),
  });
  return true;
}

function affectedRows(dialect: Dialect, result: unknown): number {
  const r = result as any;
  if (dialect === 'postgres') return Number(r?.rowCount ?? 0);
  if (dialect === 'mysql') return Number((Array.isArray(r) ? r[0] : r)?.affectedRows ?? 0);
  return Number(r?.changes ?? 0);
}

export interface DueSurvey {
  id: number;
  /** deletion_date for soft deletion, deleted_at for hard deletion. */
  due_at: unknown;
  held: boolean;
}

/** Live surveys whose deletion_date has passed (`deletion_date <= now`). */
export async function softDeletionDue(db: Db, dialect: Dialect, now: Date, afterId: number, size: number): Promise<DueSurvey[]> {
  const rows = await db('surveys as s')
    .select('s.id', 's.deletion_date as due_at')
    .select(db.raw(`CASE WHEN ${activeHoldExists('s.id')} THEN 1 ELSE 0 END AS held`))
    .whereNull('s.deleted_at')
    .whereNotNull('s.deletion_date')
    .where('s.deletion_date', '<=', toDbInstant(dialect, now))
    .where('s.id', '>', afterId)
    .orderBy('s.id')
    .limit(size);
  return rows.map((r: Record<string, unknown>) => ({ id: Number(r.id), due_at: r.due_at, held: toBool(r.held) }));
}

/**
 * Soft-delete those of `ids` that are still live, past their deletion_date and not held, in one
 * statement whose WHERE carries the whole rule. Returns the ids it changed.
 */
export async function softDelete(trx: Knex.Transaction, dialect: Dialect, now: Date, ids: number[]): Promise<number[]> {
  if (ids.length === 0) return [];
  const nowDb = toDbInstant(dialect, now);
  // The UPDATE comes first in the transaction: on SQLite that takes the write lock before any
  // read, so a concurrent writer cannot invalidate our snapshot.
  const changed = await trx('surveys')
    .update({ deleted_at: nowDb })
    .whereIn('id', ids)
    .whereNull('deleted_at')
    .whereNotNull('deletion_date')
    .where('deletion_date', '<=', nowDb)
    .whereRaw(`NOT ${activeHoldExists('surveys.id')}`);
  if (changed === 0) return [];
  const rows = await trx('surveys').select('id').whereIn('id', ids).where('deleted_at', nowDb).orderBy('id');
  return rows.map((r: { id: unknown }) => Number(r.id));
}

/** Soft-deleted surveys whose 30 days are over (`deleted_at <= cutoff`). */
export async function hardDeletionDue(db: Db, dialect: Dialect, cutoff: Date, afterId: number, size: number): Promise<DueSurvey[]> {
  const rows = await db('surveys as s')
    .select('s.id', 's.deleted_at as due_at')
    .select(db.raw(`CASE WHEN ${activeHoldExists('s.id')} THEN 1 ELSE 0 END AS held`))
    .whereNotNull('s.deleted_at')
    .where('s.deleted_at', '<=', toDbInstant(dialect, cutoff))
    .where('s.id', '>', afterId)
    .orderBy('s.id')
    .limit(size);
  return rows.map((r: Record<string, unknown>) => ({ id: Number(r.id), due_at: r.due_at, held: toBool(r.held) }));
}

/** The child tables a hard deletion empties in batches, before the survey row itself. */
export const CHILD_TABLES = ['survey_responses', 'survey_progress', 'survey_deletion_warnings'] as const;
export type ChildTable = (typeof CHILD_TABLES)[number];

export interface ChildCounts {
  responses: number;
  progress: number;
  warnings: number;
  removedHolds: number;
}

export const CHILD_COUNT_KEY: Record<ChildTable, keyof ChildCounts> = {
  survey_responses: 'responses',
  survey_progress: 'progress',
  survey_deletion_warnings: 'warnings',
};

/**
 * Delete at most `size` rows of one child table of a survey, in one statement guarded by the rule:
 * the survey is still soft-deleted on or before `cutoff` and has no active hold. Returns how many
 * rows went; fewer than `size` means the table is empty for this survey or the guard refused.
 */
export async function deleteChildBatch(
  trx: Knex.Transaction,
  dialect: Dialect,
  table: ChildTable,
  surveyId: number,
  cutoff: Date,
  size: number,
): Promise<number> {
  const cutoffDb = toDbInstant(dialect, cutoff);
  const guarded = (q: Knex.QueryBuilder) =>
    q
      .whereExists(function () {
        this.select(trx.raw('1'))
          .from('surveys as s')
          .where('s.id', surveyId)
          .whereNotNull('s.deleted_at')
          .where('s.deleted_at', '<=', cutoffDb);
      })
      .whereRaw(`NOT ${activeHoldExists('?')}`, [surveyId]);
  if (dialect === 'mysql') {
    // MySQL has no LIMIT in an IN subquery, but a single-table DELETE takes ORDER BY and LIMIT.
    return guarded(trx(table).where('survey_id', surveyId)).orderBy('id').limit(size).del();
  }
  return guarded(
    trx(table).whereIn('id', function () {
      this.select('id').from(table).where('survey_id', surveyId).orderBy('id').limit(size);
    }),
  ).del();
}

/**
 * The last transaction of a hard deletion: lock the survey row, delete what children are left and
 * its removed holds, then the survey itself with the whole rule in its WHERE. Returns the counts,
 * or null when the rule no longer holds (a hold appeared, or the survey was restored); the caller
 * then rolls the transaction back so nothing of the survey is lost in this step.
 */
export async function deleteSurveyRow(
  trx: Knex.Transaction,
  dialect: Dialect,
  surveyId: number,
  cutoff: Date,
): Promise<ChildCounts | null> {
  const cutoffDb = toDbInstant(dialect, cutoff);
  if (dialect !== 'sqlite') {
    // Wait for any transaction that is inserting a hold for this survey (its foreign-key check
    // holds a share lock on the row); the statements below then start with a fresh view on
    // PostgreSQL and read the latest rows on MySQL, so that hold is seen.
    await trx('surveys').select('id').where('id', surveyId).forUpdate();
  }
  const counts: ChildCounts = { responses: 0, progress: 0, warnings: 0, removedHolds: 0 };
  for (const table of CHILD_TABLES) {
    // Rows added since the batches (a late response): gone now, and counted.
    counts[CHILD_COUNT_KEY[table]] += await deleteChildBatch(trx, dialect, table, surveyId, cutoff, Number.MAX_SAFE_INTEGER);
  }
  counts.removedHolds = await trx('survey_legal_holds').where('survey_id', surveyId).whereNotNull('removed_at').del();
  const deleted = await trx('surveys')
    .where('id', surveyId)
    .whereNotNull('deleted_at')
    .where('deleted_at', '<=', cutoffDb)
    .whereRaw(`NOT ${activeHoldExists('surveys.id')}`)
    .del();
  return deleted === 1 ? counts : null;
}

/** Whether a survey has an active legal hold right now. */
export async function hasActiveHold(db: Db, surveyId: number): Promise<boolean> {
  const row = await db('survey_legal_holds').where('survey_id', surveyId).whereNull('removed_at').first('id');
  return Boolean(row);
}

/** What a hard deletion of this survey would remove (for a dry run's report). */
export async function countChildren(db: Db, surveyId: number): Promise<ChildCounts> {
  const count = async (table: string, extra?: (q: Knex.QueryBuilder) => Knex.QueryBuilder) => {
    let q = db(table).where('survey_id', surveyId);
    if (extra) q = extra(q);
    const row = await q.count<{ n: number | string }[]>({ n: '*' }).first();
    return Number(row?.n ?? 0);
  };
  return {
    responses: await count('survey_responses'),
    progress: await count('survey_progress'),
    warnings: await count('survey_deletion_warnings'),
    removedHolds: await count('survey_legal_holds', (q) => q.whereNotNull('removed_at')),
  };
}
