/**
 * Queries over `cases` for the case jobs: which cases are due for release, and conditional
 * status moves with their history rows. Days are bound as 'YYYY-MM-DD' strings (every dialect
 * compares a date column with one the same way), instants through toDbInstant.
 */
import { whereShard } from './shard.js';
import type { Shard } from '../parse.js';
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { identFor, mapped, ownTables } from './schema.js';
import { whereNotOnHold, whereOnHold } from './case-holds.js';
import { auditMany } from './audit.js';
import { rawRows } from './dialect.js';
import { caseReads, whereReadable } from './readable.js';
import { fromDbDay, toDbInstant } from './time.js';

type Db = Knex | Knex.Transaction;

export interface CaseReleaseRow {
  id: number;
  reference: string;
  scheduled_release_date: unknown;
  hold_start_date: unknown;
  hold_end_date: unknown;
  hold_duration_days: number | null;
}

const RELEASE_COLUMNS = ['id', 'reference', 'scheduled_release_date', 'hold_start_date', 'hold_end_date', 'hold_duration_days'];

/** How the batch-release setting narrows what is due at this instant. */
export interface ReleaseWindow {
  dialect: Dialect;
  /** now's UTC day, YYYY-MM-DD */
  today: string;
  /**
   * True when batch release is enabled and now's time of day is before batch_release_time:
   * then only overdue cases (scheduled before today) are due.
   */
  onlyOverdue: boolean;
}

/** Not released yet and scheduled for today or earlier: due by date alone, before holds and batch time. */
function dueByDate(q: Knex.QueryBuilder, dialect: Dialect, today: string): Knex.QueryBuilder {
  return whereReadable(q, dialect, caseReads('scheduled_release_date'))
    .whereNull('actual_release_date')
    .whereNotNull('scheduled_release_date')
    .where('scheduled_release_date', '<=', today);
}

/** The whole release rule of docs/reference/jobs.md: due by date, not on hold today, and inside the batch window. */
function dueForRelease(q: Knex.QueryBuilder, w: ReleaseWindow): Knex.QueryBuilder {
  let r = whereNotOnHold(dueByDate(q, w.dialect, w.today), w.dialect, w.today);
  if (w.onlyOverdue) r = r.where('scheduled_release_date', '<', w.today);
  return r;
}

/** One keyset page of cases due for release. */
export function selectDueForRelease(db: Db, w: ReleaseWindow, afterId: number, size: number, shard?: Shard): Promise<CaseReleaseRow[]> {
  return dueForRelease(db(mapped(db, 'cases').table), w).select(RELEASE_COLUMNS).modify(whereShard, shard).where('id', '>', afterId).orderBy('id').limit(size);
}

/** Cases due by date but on hold today. */
export function heldBackQuery(db: Db, dialect: Dialect, today: string, shard?: Shard): Knex.QueryBuilder {
  return whereOnHold(dueByDate(db(mapped(db, 'cases').table), dialect, today), dialect, today).modify(whereShard, shard);
}

/** Cases due today (not overdue), not on hold, that only the batch release time keeps back. */
export function waitingForBatchQuery(db: Db, dialect: Dialect, today: string, shard?: Shard): Knex.QueryBuilder {
  return whereNotOnHold(dueByDate(db(mapped(db, 'cases').table), dialect, today), dialect, today).where('scheduled_release_date', '=', today).modify(whereShard, shard);
}

/**
 * A plain aggregate, deliberately without knex's `.first()`: its `LIMIT 1` makes MariaDB 10.11
 * trade the full scan for a range scan of the scheduled_release_date index with a row lookup per
 * entry (25 s instead of 0.67 s at 1M cases).
 */
export async function countCases(q: Knex.QueryBuilder): Promise<number> {
  const rows = (await q.clone().count({ n: '*' })) as Array<{ n: number | string }>;
  return Number(rows[0]?.n ?? 0);
}

/** One keyset page of a query's rows, for --verbose listings of held and waiting cases. */
export function pageOf(q: Knex.QueryBuilder, afterId: number, size: number): Promise<CaseReleaseRow[]> {
  return q.clone().select(RELEASE_COLUMNS).where('id', '>', afterId).orderBy('id').limit(size);
}

/**
 * Release those of `ids` that are still due (re-checked inside this transaction: another program
 * may have released one, or put it on hold, since it was selected). Returns the ids released.
 *
 * PostgreSQL and SQLite (3.35+) answer `UPDATE … RETURNING id` with exactly the rows the
 * conditional UPDATE changed, in one statement; on SQLite that statement also takes the write
 * lock at once, so no read-then-write upgrade can fail. MariaDB has no UPDATE … RETURNING, so
 * there the still-due rows are re-selected FOR UPDATE (locked until commit) and then updated.
 */
export async function releaseCases(trx: Knex.Transaction, w: ReleaseWindow, ids: number[], now: Date): Promise<number[]> {
  if (ids.length === 0) return [];
  const at = toDbInstant(w.dialect, now);
  const changes = { actual_release_date: at, updated_at: at };
  if (w.dialect === 'mysql') {
    const locked: Array<{ id: number }> = await dueForRelease(trx(mapped(trx, 'cases').table), w).select('id').whereIn('id', ids).orderBy('id').forUpdate();
    const still = locked.map((r) => Number(r.id));
    if (still.length > 0) await trx(mapped(trx, 'cases').table).whereIn('id', still).whereNull('actual_release_date').update(changes);
    return still;
  }
  const changed: Array<{ id: number } | number> = await dueForRelease(trx(mapped(trx, 'cases').table), w).whereIn('id', ids).update(changes, ['id']);
  return changed.map((r) => Number(typeof r === 'object' ? r.id : r)).sort((a, b) => a - b);
}

// ---------------------------------------------------------------------------------------------
// One statement per batch: pick, change and record a batch inside its own transaction

/**
 * The upper end of the next batch: the id of the `size`-th row of `due` after `afterId`, as a
 * scalar subquery over the primary key. The changing statement then reads `id > a AND id <= b`
 * plus its own condition, an index range scan (an InitPlan on PostgreSQL), where
 * `id IN (SELECT … LIMIT n)` plans as a scan of every due row for every batch. Both read one
 * snapshot, so the range holds at most `size` due rows and --limit stays exact.
 */
function batchUpperId(trx: Knex.Transaction, due: Knex.QueryBuilder, afterId: number, size: number): Knex.QueryBuilder {
  return trx.from(due.select('id').where('id', '>', afterId).orderBy('id').limit(size).as('picked')).max('id');
}

/** Instants and ids bound into a PostgreSQL INSERT … SELECT need their types said. */
const pgAuditInsert = (trx: Knex.Transaction) =>
  `INSERT INTO ${identFor(trx)(ownTables(trx).auditLog)} (at, actor, action, subject_type, subject_id, details, run_id)`;

/**
 * Release the next batch of due cases (at most `size`, id > afterId) with an audit row
 * (`case.released`, details `{"scheduledReleaseDate":"YYYY-MM-DD"}`) for each; returns the cases
 * released in id order. The whole release rule is part of the UPDATE, so a case released or put
 * on hold meanwhile is left. PostgreSQL: one data-modifying CTE over the id range; SQLite:
 * `UPDATE … RETURNING` over the range, then the audit rows. Not for MariaDB (no UPDATE …
 * RETURNING; releaseCases locks and re-reads there). On PostgreSQL the rows carry `columns` only
 * (the id alone spares the driver parsing three dates a row when nothing lists them).
 */
export async function takeReleaseBatch(
  trx: Knex.Transaction,
  w: ReleaseWindow,
  audit: { actor: string; runId: number | null },
  now: Date,
  afterId: number,
  size: number,
  columns: readonly string[] = RELEASE_COLUMNS,
  shard?: Shard,
): Promise<CaseReleaseRow[]> {
  const at = toDbInstant(w.dialect, now);
  const due = () => dueForRelease(trx(mapped(trx, 'cases').table), w).modify(whereShard, shard);
  const update = due()
    .where('id', '>', afterId)
    .where('id', '<=', batchUpperId(trx, due(), afterId, size))
    .update({ actual_release_date: at, updated_at: at })
    .returning(RELEASE_COLUMNS);
  if (w.dialect === 'postgres') {
    const u = update.toSQL();
    const sql = `WITH released AS (${u.sql}),
      logged AS (${pgAuditInsert(trx)}
        SELECT ?::timestamptz, ?, 'case.released', 'case', released.id::text,
          '{"scheduledReleaseDate":"' || to_char(released.scheduled_release_date, 'YYYY-MM-DD') || '"}', ?::bigint
        FROM released ORDER BY released.id)
      SELECT ${columns.map(identFor(trx)).join(', ')} FROM released ORDER BY id`;
    const rows = rawRows<CaseReleaseRow>(await trx.raw(sql, [...(u.bindings as Knex.Value[]), at, audit.actor, audit.runId]));
    return rows.map((r) => ({ ...r, id: Number(r.id) }));
  }
  const rows: CaseReleaseRow[] = (await update).map((r: CaseReleaseRow) => ({ ...r, id: Number(r.id) })).sort((a: CaseReleaseRow, b: CaseReleaseRow) => a.id - b.id);
  await auditMany(
    trx,
    { ...audit, now, dialect: w.dialect },
    rows.map((r) => ({ action: 'case.released', subjectType: 'case', subjectId: r.id, details: { scheduledReleaseDate: fromDbDay(r.scheduled_release_date) } })),
  );
  return rows;
}
