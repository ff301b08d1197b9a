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

/** Per survey id: how many rows. A map over one batch of surveys, never the whole run. */
export type CountsBySurvey = Map<number, number>;

function tally(rows: { survey_id: unknown }[]): CountsBySurvey {
  const m: CountsBySurvey = new Map();
  for (const r of rows) {
    const id = Number(r.survey_id);
    m.set(id, (m.get(id) ?? 0) + 1);
  }
  return m;
}

const placeholders = (ids: readonly number[]) => ids.map(() => '?').join(', ');

/**
 * The hard-deletion rule for the survey of a row whose survey id is `surveyIdSql`: still
 * soft-deleted on or before the cutoff, and no active hold. Written into every statement that
 * deletes a survey's rows, so a hold placed (or a restore done) after the selection is honoured.
 */
function hardDeletable(surveyIdSql: string): string {
  return `EXISTS (SELECT 1 FROM surveys s WHERE s.id = ${surveyIdSql} AND s.deleted_at IS NOT NULL AND s.deleted_at <= ?)
          AND NOT ${activeHoldExists(surveyIdSql)}`;
}

function returnedRows(dialect: Dialect, result: unknown): Record<string, unknown>[] {
  const r = result as any;
  if (dialect === 'postgres') return r?.rows ?? [];
  if (dialect === 'mysql') return Array.isArray(r) ? r[0] : [];
  return Array.isArray(r) ? r : [];
}

/**
 * Delete at most `limit` rows of one child table belonging to any of the surveys `ids`, in one
 * statement guarded by the rule per row's survey. Returns the rows deleted per
 * survey; a total below `limit` means nothing deletable is left in this table for these surveys.
 *
 * PostgreSQL and SQLite: one `DELETE … RETURNING survey_id` (on SQLite the write comes first, so
 * the transaction holds the write lock before it reads anything; no ORDER BY, so the planner reads
 * the survey_id index instead of walking the primary key). MySQL/MariaDB (no RETURNING on
 * MySQL): a locking read of the rows (FOR UPDATE, so nobody changes them under us), then a
 * DELETE bounded by the last id read, with the same guard.
 */
export async function deleteChildrenOfSurveys(
  trx: Knex.Transaction,
  dialect: Dialect,
  table: ChildTable,
  ids: readonly number[],
  cutoff: Date,
  limit: number,
): Promise<CountsBySurvey> {
  if (ids.length === 0) return new Map();
  const cutoffDb = toDbInstant(dialect, cutoff);
  const inIds = placeholders(ids);
  if (dialect === 'mysql') {
    const [rows] = (await trx.raw(
      `SELECT id, survey_id FROM ${table} WHERE survey_id IN (${inIds}) AND ${hardDeletable(`${table}.survey_id`)}
        ORDER BY id LIMIT ? FOR UPDATE`,
      [...ids, cutoffDb, limit],
    )) as unknown as [{ id: unknown; survey_id: unknown }[]];
    if (rows.length === 0) return new Map();
    const lastId = Number(rows[rows.length - 1]!.id);
    await trx.raw(`DELETE FROM ${table} WHERE survey_id IN (${inIds}) AND id <= ? AND ${hardDeletable(`${table}.survey_id`)}`, [
      ...ids,
      lastId,
      cutoffDb,
    ]);
    return tally(rows);
  }
  const result = await trx.raw(
    `DELETE FROM ${table}
      WHERE id IN (SELECT c.id FROM ${table} c WHERE c.survey_id IN (${inIds}) AND ${hardDeletable('c.survey_id')} LIMIT ?)
        AND ${hardDeletable(`${table}.survey_id`)}
      RETURNING survey_id`,
    [...ids, cutoffDb, limit, cutoffDb],
  );
  return tally(returnedRows(dialect, result) as { survey_id: unknown }[]);
}

export interface FinalDeletion {
  /** Surveys deleted (their rows and the survey row). */
  deleted: number[];
  /** Rows deleted in this last transaction, per survey: children left over, and removed holds. */
  leftovers: Map<number, ChildCounts>;
}

/**
 * The last transaction of a batch's hard deletion. Lock the batch's survey rows (PostgreSQL,
 * MySQL/MariaDB): a transaction inserting a hold for one of them holds a share lock on that row
 * through its foreign-key check, so it is waited for, and the statements below then see it
 * (PostgreSQL starts each statement with a fresh view; MySQL's locking reads and DML read the
 * latest rows). Then, each statement guarded by the rule per survey: what children are left
 * (a late response), the removed holds, and the survey rows themselves.
 *
 * Returns null when the surveys deleted are not exactly those the rule allowed at the start
 * (a hold re-activated in the middle): the caller rolls back and tries again, so no survey loses
 * its removed holds or children in a transaction that then keeps the survey row.
 */
export async function deleteSurveyRows(
  trx: Knex.Transaction,
  dialect: Dialect,
  ids: readonly number[],
  cutoff: Date,
  leftoverLimit: number,
): Promise<FinalDeletion | null> {
  const leftovers = new Map<number, ChildCounts>();
  if (ids.length === 0) return { deleted: [], leftovers };
  const cutoffDb = toDbInstant(dialect, cutoff);
  const inIds = placeholders(ids);
  const slot = (id: number) => {
    let c = leftovers.get(id);
    if (!c) leftovers.set(id, (c = { responses: 0, progress: 0, warnings: 0, removedHolds: 0 }));
    return c;
  };
  let expected: number[] | undefined;
  if (dialect !== 'sqlite') {
    await trx.raw(`SELECT id FROM surveys WHERE id IN (${inIds}) ORDER BY id FOR UPDATE`, [...ids]);
    expected = await deletableNow(trx, dialect, ids, cutoffDb);
  }
  for (const table of CHILD_TABLES) {
    // Normally nothing is left: the batches before this took the children.
    const n = await deleteChildrenOfSurveys(trx, dialect, table, ids, cutoff, leftoverLimit);
    for (const [id, k] of n) slot(id)[CHILD_COUNT_KEY[table]] += k;
  }
  // On SQLite the DELETEs above took the write lock: from here on nobody else can change a row.
  expected ??= await deletableNow(trx, dialect, ids, cutoffDb);
  if (expected.length > 0) {
    const inExpected = placeholders(expected);
    const holdRows = returnedRows(
      dialect,
      await trx.raw(
        `SELECT survey_id, COUNT(*) AS n FROM survey_legal_holds
          WHERE survey_id IN (${inExpected}) AND removed_at IS NOT NULL GROUP BY survey_id`,
        [...expected],
      ),
    );
    for (const r of holdRows) slot(Number(r.survey_id)).removedHolds += Number(r.n);
    await trx.raw(
      `DELETE FROM survey_legal_holds
        WHERE survey_id IN (${inExpected}) AND removed_at IS NOT NULL AND ${hardDeletable('survey_legal_holds.survey_id')}`,
      [...expected, cutoffDb],
    );
  }
  const deleted =
    expected.length === 0
      ? 0
      : await trx('surveys')
          .whereIn('id', expected)
          .whereNotNull('deleted_at')
          .where('deleted_at', '<=', cutoffDb)
          .whereRaw(`NOT ${activeHoldExists('surveys.id')}`)
          .del();
  if (deleted !== expected.length) return null;
  return { deleted: expected, leftovers };
}

/** Of `ids`, those the rule allows to hard-delete now, in id order. */
async function deletableNow(trx: Knex.Transaction, dialect: Dialect, ids: readonly number[], cutoffDb: ReturnType<typeof toDbInstant>): Promise<number[]> {
  const rows = returnedRows(
    dialect,
    await trx.raw(`SELECT s0.id FROM surveys s0 WHERE s0.id IN (${placeholders(ids)}) AND ${hardDeletable('s0.id')} ORDER BY s0.id`, [
      ...ids,
      cutoffDb,
    ]),
  );
  return rows.map((r) => Number(r.id));
}

/** Whether a survey has an active legal hold right now. */
export async function hasActiveHold(db: Db, surveyId: number): Promise<boolean> {
  const row = await db('survey_legal_holds').where('survey_id', surveyId).whereNull('removed_at').first('id');
  return Boolean(row);
}

/** What a hard deletion of these surveys would remove, per survey (for a dry run's report). */
export async function countChildrenOfSurveys(db: Db, ids: readonly number[]): Promise<Map<number, ChildCounts>> {
  const counts = new Map<number, ChildCounts>();
  for (const id of ids) counts.set(id, { responses: 0, progress: 0, warnings: 0, removedHolds: 0 });
  if (ids.length === 0) return counts;
  const add = async (table: string, key: keyof ChildCounts, removedOnly = false) => {
    let q = db(table).select('survey_id').count<{ survey_id: unknown; n: unknown }[]>({ n: '*' }).whereIn('survey_id', ids);
    if (removedOnly) q = q.whereNotNull('removed_at');
    for (const r of await q.groupBy('survey_id')) counts.get(Number(r.survey_id))![key] += Number(r.n);
  };
  for (const table of CHILD_TABLES) await add(table, CHILD_COUNT_KEY[table]);
  await add('survey_legal_holds', 'removedHolds', true);
  return counts;
}
