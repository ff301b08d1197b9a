/**
 * Queries over `cases` for the case jobs: which cases are due for release, and conditional
 * status moves with their history rows. Days are bound as 'YYYY-MM-DD' strings (every dialect
 * compares a date column with one the same way), instants through toDbInstant.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { mapped } from './schema.js';
import { whereNotOnHold, whereOnHold } from './case-holds.js';
import { rowsPerInsert } from './audit.js';
import { caseReads, whereReadable } from './readable.js';
import { toDbInstant } from './time.js';

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
export function selectDueForRelease(db: Db, w: ReleaseWindow, afterId: number, size: number): Promise<CaseReleaseRow[]> {
  return dueForRelease(db(mapped(db, 'cases').table), w).select(RELEASE_COLUMNS).where('id', '>', afterId).orderBy('id').limit(size);
}

/** Cases due by date but on hold today. */
export function heldBackQuery(db: Db, dialect: Dialect, today: string): Knex.QueryBuilder {
  return whereOnHold(dueByDate(db(mapped(db, 'cases').table), dialect, today), dialect, today);
}

/** Cases due today (not overdue), not on hold, that only the batch release time keeps back. */
export function waitingForBatchQuery(db: Db, dialect: Dialect, today: string): Knex.QueryBuilder {
  return whereNotOnHold(dueByDate(db(mapped(db, 'cases').table), dialect, today), dialect, today).where('scheduled_release_date', '=', today);
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
// Status moves

export interface CaseStatusRow {
  id: number;
  reference: string;
  status: number;
}

/** One keyset page of cases at `status`, optionally only among `ids`. */
export function selectCasesAtStatus(db: Db, status: number, ids: number[] | undefined, afterId: number, size: number): Promise<CaseStatusRow[]> {
  let q = db(mapped(db, 'cases').table).select('id', 'reference', 'status').where('status', status).where('id', '>', afterId);
  if (ids) q = q.whereIn('id', ids);
  return q.orderBy('id').limit(size);
}

/** The current status of the given ids (absent ids are missing from the answer). */
export async function statusesOf(db: Db, ids: number[]): Promise<Map<number, CaseStatusRow>> {
  const found = new Map<number, CaseStatusRow>();
  // Chunked: SQLite and the drivers limit bound parameters per statement.
  for (let i = 0; i < ids.length; i += 500) {
    const rows: CaseStatusRow[] = await db(mapped(db, 'cases').table).select('id', 'reference', 'status').whereIn('id', ids.slice(i, i + 500));
    for (const r of rows) found.set(Number(r.id), { ...r, id: Number(r.id), status: Number(r.status) });
  }
  return found;
}

export interface StatusMove {
  dialect: Dialect;
  from: number;
  to: number;
  now: Date;
  /** case_status_history.source, e.g. `job:weekly-paid-update` */
  source: string;
  runId: number | null;
}

/**
 * Move those of `ids` whose status is still `from` to `to`, and write a case_status_history row
 * for each. The UPDATE is conditional on the old status, so a case another program changed since
 * selection is left alone and gets no history row. Returns the ids actually moved.
 *
 * Knowing exactly which rows changed: PostgreSQL and SQLite (3.35+) use `UPDATE … RETURNING id`,
 * one statement (on SQLite it takes the write lock at once, so there is no read-then-write
 * upgrade that could fail). MariaDB has no UPDATE … RETURNING: the rows still at `from` are
 * re-selected FOR UPDATE, which locks them until commit, so the UPDATE that follows changes
 * exactly those.
 */
export async function moveCaseStatus(trx: Knex.Transaction, move: StatusMove, ids: number[]): Promise<number[]> {
  if (ids.length === 0) return [];
  const at = toDbInstant(move.dialect, move.now);
  let moved: number[];
  if (move.dialect === 'mysql') {
    const locked: Array<{ id: number }> = await trx(mapped(trx, 'cases').table).select('id').whereIn('id', ids).where('status', move.from).orderBy('id').forUpdate();
    moved = locked.map((r) => Number(r.id));
    if (moved.length > 0) await trx(mapped(trx, 'cases').table).whereIn('id', moved).where('status', move.from).update({ status: move.to, updated_at: at });
  } else {
    const changed: Array<{ id: number } | number> = await trx(mapped(trx, 'cases').table)
      .whereIn('id', ids)
      .where('status', move.from)
      .update({ status: move.to, updated_at: at }, ['id']);
    moved = changed.map((r) => Number(typeof r === 'object' ? r.id : r)).sort((a, b) => a - b);
  }
  await insertStatusHistory(trx, move, moved);
  return moved;
}

/** case_status_history rows for the cases a batch moved, as few multi-row INSERTs as the parameter limit allows. */
async function insertStatusHistory(trx: Knex.Transaction, move: StatusMove, moved: number[]): Promise<void> {
  const at = toDbInstant(move.dialect, move.now);
  // Chunked: SQLite limits the terms of the INSERT knex writes, and --batch-size may be large.
  const chunk = rowsPerInsert(move.dialect);
  for (let i = 0; i < moved.length; i += chunk) {
    await trx(mapped(trx, 'caseStatusHistory').table).insert(
      moved
        .slice(i, i + chunk)
        .map((id) => ({ case_id: id, from_status: move.from, to_status: move.to, changed_at: at, source: move.source, run_id: move.runId })),
    );
  }
}

