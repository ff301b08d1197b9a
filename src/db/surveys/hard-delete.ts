/**
 * Hard deletion: soft-deleted surveys past the cutoff, their children deleted in bounded guarded
 * statements, then the survey rows in a last transaction; and a dry run's counts.
 */
import { whereShard } from '../shard.js';
import type { Shard } from '../../parse.js';
import type { Knex } from 'knex';
import type { Dialect } from '../../config.js';
import { rawRows, toBool } from '../dialect.js';
import { toDbInstant } from '../time.js';
import { holdRemovedSql, readableSql } from '../readable.js';
import { activeHoldExists, hardDeletable, hardDeletionColumn, placeholders, surveyNames, type Db } from './rules.js';
import { identFor, mapped, ownTables } from '../schema.js';
import type { DueSurvey } from './soft-delete.js';

/**
 * Soft-deleted surveys whose 30 days are over (`deleted_at <= cutoff`), or, under the
 * `hard-deletion-date` rule, whose hard_deletion_date has come (`hard_deletion_date <= cutoff`, the
 * cutoff being now: rules.hardDeletionCutoff()).
 */
export async function hardDeletionDue(db: Db, dialect: Dialect, cutoff: Date, afterId: number, size: number, shard?: Shard): Promise<DueSurvey[]> {
  const n = surveyNames(db);
  const due = `s.${hardDeletionColumn(db)}`;
  const rows = await db({ s: n.surveysTable })
    .select('s.id', `${due} as due_at`)
    .select(db.raw(`CASE WHEN ${activeHoldExists(dialect, 's.id', n.qHolds)} THEN 1 ELSE 0 END AS held`))
    .whereNotNull('s.deleted_at')
    .whereNotNull(due)
    .whereRaw(readableSql(dialect, `s.${n.q(hardDeletionColumn(db))}`, 'instant'))
    .where(due, '<=', toDbInstant(dialect, cutoff))
    .modify(whereShard, shard, 's.id')
    .where('s.id', '>', afterId)
    .orderBy('s.id')
    .limit(size);
  return rows.map((r: Record<string, unknown>) => ({ id: Number(r.id), due_at: r.due_at, held: toBool(r.held) }));
}

/**
 * The child tables a hard deletion empties in batches, before the survey row itself, named by the
 * ontime profile's tables; childTableName() gives the profile's real name. Seam for the
 * foreign-key-aware hard deletion (issue 18, branch issue-18-fk): under a profile whose survey
 * table has other referencing tables, that module's leaf-first plan replaces this fixed list.
 */
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

/** The profile's table for a child concept, as the query builder takes it. */
export function childTableName(db: Db, table: ChildTable): string {
  if (table === 'survey_responses') return mapped(db, 'surveyResponses').table;
  if (table === 'survey_progress') return mapped(db, 'progress').table;
  return ownTables(db).deletionWarnings;
}

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
  const t = identFor(trx)(childTableName(trx, table));
  if (dialect === 'mysql') {
    const [rows] = (await trx.raw(
      `SELECT id, survey_id FROM ${t} WHERE survey_id IN (${inIds}) AND ${hardDeletable(trx, dialect, `${t}.survey_id`)}
        ORDER BY id LIMIT ? FOR UPDATE`,
      [...ids, cutoffDb, limit],
    )) as unknown as [{ id: unknown; survey_id: unknown }[]];
    if (rows.length === 0) return new Map();
    const lastId = Number(rows[rows.length - 1]!.id);
    await trx.raw(`DELETE FROM ${t} WHERE survey_id IN (${inIds}) AND id <= ? AND ${hardDeletable(trx, dialect, `${t}.survey_id`)}`, [
      ...ids,
      lastId,
      cutoffDb,
    ]);
    return tally(rows);
  }
  if (dialect === 'postgres') {
    // The picked rows by physical address (a TID scan, no second walk of an index), counted per
    // survey on the server: 2–3× faster than `id IN (SELECT … LIMIT n) RETURNING survey_id`
    // with 10,000 rows sent back (docs/performance.md). A row updated meanwhile has moved: its old
    // address no longer matches and it is left for the next statement.
    const result = await trx.raw(
      `WITH deleted AS (DELETE FROM ${t}
        WHERE ctid = ANY(ARRAY(SELECT c.ctid FROM ${t} c WHERE c.survey_id IN (${inIds}) AND ${hardDeletable(trx, dialect, 'c.survey_id')} LIMIT ?))
          AND ${hardDeletable(trx, dialect, `${t}.survey_id`)}
        RETURNING survey_id)
      SELECT survey_id, count(*) AS n FROM deleted GROUP BY survey_id`,
      [...ids, cutoffDb, limit, cutoffDb],
    );
    return new Map((rawRows(result) as { survey_id: unknown; n: unknown }[]).map((r) => [Number(r.survey_id), Number(r.n)]));
  }
  const result = await trx.raw(
    `DELETE FROM ${t}
      WHERE id IN (SELECT c.id FROM ${t} c WHERE c.survey_id IN (${inIds}) AND ${hardDeletable(trx, dialect, 'c.survey_id')} LIMIT ?)
        AND ${hardDeletable(trx, dialect, `${t}.survey_id`)}
      RETURNING survey_id`,
    [...ids, cutoffDb, limit, cutoffDb],
  );
  return tally(rawRows(result) as { survey_id: unknown }[]);
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
  const n = surveyNames(trx);
  if (dialect !== 'sqlite') {
    await trx.raw(`SELECT id FROM ${n.qSurveys} WHERE id IN (${inIds}) ORDER BY id FOR UPDATE`, [...ids]);
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
    const holdRows = rawRows<Record<string, unknown>>(await trx.raw(
        `SELECT survey_id, COUNT(*) AS n FROM ${n.qHolds}
          WHERE survey_id IN (${inExpected}) AND ${holdRemovedSql(dialect, 'removed_at')} GROUP BY survey_id`,
        [...expected],
      ),
    );
    for (const r of holdRows) slot(Number(r.survey_id)).removedHolds += Number(r.n);
    await trx.raw(
      `DELETE FROM ${n.qHolds}
        WHERE survey_id IN (${inExpected}) AND ${holdRemovedSql(dialect, 'removed_at')} AND ${hardDeletable(trx, dialect, `${n.qHolds}.survey_id`)}`,
      [...expected, cutoffDb],
    );
  }
  const deleted =
    expected.length === 0
      ? 0
      : await trx(n.surveysTable)
          .whereIn('id', expected)
          .whereNotNull('deleted_at')
          .whereNotNull(hardDeletionColumn(trx))
          .whereRaw(readableSql(dialect, n.q(hardDeletionColumn(trx)), 'instant'))
          .where(hardDeletionColumn(trx), '<=', cutoffDb)
          .whereRaw(`NOT ${activeHoldExists(dialect, `${n.qSurveys}.id`, n.qHolds)}`)
          .del();
  if (deleted !== expected.length) return null;
  return { deleted: expected, leftovers };
}

/** Of `ids`, those the rule allows to hard-delete now, in id order. */
async function deletableNow(trx: Knex.Transaction, dialect: Dialect, ids: readonly number[], cutoffDb: ReturnType<typeof toDbInstant>): Promise<number[]> {
  const rows = rawRows<Record<string, unknown>>(await trx.raw(`SELECT s0.id FROM ${surveyNames(trx).qSurveys} s0 WHERE s0.id IN (${placeholders(ids)}) AND ${hardDeletable(trx, dialect, 's0.id')} ORDER BY s0.id`, [
      ...ids,
      cutoffDb,
    ]),
  );
  return rows.map((r) => Number(r.id));
}

/**
 * What a hard deletion of these surveys would remove, per survey (for a dry run's report). Removed
 * holds are counted by the real run's rule (holdRemovedSql: set and readable), not `IS NOT NULL`.
 */
export async function countChildrenOfSurveys(db: Db, dialect: Dialect, ids: readonly number[]): Promise<Map<number, ChildCounts>> {
  const counts = new Map<number, ChildCounts>();
  for (const id of ids) counts.set(id, { responses: 0, progress: 0, warnings: 0, removedHolds: 0 });
  if (ids.length === 0) return counts;
  const add = async (table: string, key: keyof ChildCounts, removedOnly = false) => {
    let q = db(table).select('survey_id').count<{ survey_id: unknown; n: unknown }[]>({ n: '*' }).whereIn('survey_id', ids);
    if (removedOnly) q = q.whereRaw(holdRemovedSql(dialect, 'removed_at'));
    for (const r of await q.groupBy('survey_id')) counts.get(Number(r.survey_id))![key] += Number(r.n);
  };
  for (const table of CHILD_TABLES) await add(childTableName(db, table), CHILD_COUNT_KEY[table]);
  await add(surveyNames(db).holdsTable, 'removedHolds', true);
  return counts;
}
