/**
 * Paging, written once. `eachPage` walks due rows by keyset (`id > last ORDER BY id LIMIT n`, so
 * memory does not grow with the table and no row is read twice), runs the runner's checkpoint
 * (lease, time limit, signals) before every page, honours --limit, shows progress on a terminal
 * and counts what was done, so an interrupted run's summary says how far it got. It opens no
 * transaction: a page that must not sit inside one (an SMTP conversation) uses it directly.
 * `eachBatch` is eachPage plus one short transaction per page.
 *
 * The size of each page is asked of the environment page by page (`nextPageSize`), and every
 * page's duration is reported back (`pageDone`): the one place a batch-size controller plugs in.
 *
 * A batch the database refuses for the data in it (not a connection or lock error) is applied
 * again row by row: a row refused on its own is reported through `rowFailed` (the database's
 * message, never SQL or values), skipped and not counted as done; the rest of the batch proceeds.
 */
import type { Knex } from 'knex';
import { refusedRowError as rowError } from '../errors.js';
import { groupDigits, type Output } from '../output.js';
import { LIMITS } from '../parse.js';
import type { BatchSpec, BatchTotals, PageSpec } from './types.js';

export interface PageEnvironment {
  db: Knex;
  dryRun: boolean;
  out: Output;
  /** `fencedInTransaction`: every write of the page goes through transaction(), which fences itself. */
  checkpoint(fencedInTransaction?: boolean): Promise<void>;
  /** --limit left over for the whole run (Infinity without one). */
  remaining(): number;
  /** Items done: uses up --limit and, in a real run, counts toward the run's summary. */
  consume(n: number): void;
  /** How many rows the next page may hold, before --limit: the batch-size controller's answer. */
  nextPageSize(): number;
  /** A page was handled: its rows and how long handling it took (the controller's input). */
  pageDone(rows: number, ms: number): void;
  /** Runs a function as one transaction timed as a batch (timing.longestBatchMs), fenced in a real run. */
  transaction<T>(fn: (trx: Knex.Transaction) => Promise<T>): Promise<T>;
  /** Called with a page's ids once selected, before anything is changed (a test seam). */
  afterSelect(label: string, ids: number[]): Promise<void>;
  /** A row the database refused on its own: reported and skipped, the run goes on. */
  rowFailed(id: number, error: string): void;
}

/** The same size for every page: --batch-size. */
export function fixedPageSize(size: number): Pick<PageEnvironment, 'nextPageSize' | 'pageDone'> {
  return { nextPageSize: () => size, pageDone: () => undefined };
}

/**
 * Bounds of `--batch-size auto`. The upper bound is the smaller of 100,000 and the largest fixed
 * --batch-size (LIMITS.batchSize): a batch's ids are bound in one statement, and that cap keeps
 * every statement under the databases' bound-parameter limits; `unboundedMax` is the bound of a
 * take() that binds no ids and keeps no rows (BatchSpec.takeUnbounded).
 */
export const AUTO_BATCH = { start: 1000, min: 100, max: Math.min(100_000, LIMITS.batchSize), unboundedMax: 100_000 } as const;

/**
 * `--batch-size auto`: each page sized so that handling it takes about `targetMs`. The estimate
 * is a smoothed rows-per-millisecond rate over the pages so far (each page weighs half); a page
 * slower than the target replaces the estimate outright, so the next page shrinks at once instead
 * of after several slow ones. One step never more than doubles or halves the size, so a single
 * odd measurement cannot swing it, and the size stays within `bounds`.
 */
export function adaptivePageSize(
  targetMs: number,
  bounds: { start: number; min: number; max: number } = AUTO_BATCH,
): Pick<PageEnvironment, 'nextPageSize' | 'pageDone'> {
  let size = bounds.start;
  let rowsPerMs: number | undefined;
  return {
    nextPageSize: () => size,
    pageDone(rows, ms) {
      // An empty page (the end) says nothing about the rate.
      if (rows <= 0) return;
      // Timers can report 0 for a tiny page; a floor keeps the rate finite.
      const measured = rows / Math.max(ms, 0.01);
      rowsPerMs = rowsPerMs === undefined || ms > targetMs ? measured : (rowsPerMs + measured) / 2;
      const wanted = Math.round(rowsPerMs * targetMs);
      const stepped = Math.min(Math.max(wanted, Math.ceil(size / 2)), size * 2);
      size = Math.min(Math.max(stepped, bounds.min), bounds.max);
    },
  };
}

export async function eachPage<Row extends { id: number }>(env: PageEnvironment, spec: PageSpec<Row>): Promise<BatchTotals> {
  const label = spec.label ?? 'working';
  const capped = spec.limitCapsPage ?? true;
  let afterId = 0;
  let items = 0;
  let batches = 0;
  let limited = false;
  try {
    for (;;) {
      const allowed = env.remaining();
      if (allowed <= 0) {
        limited = true;
        break;
      }
      const batchSize = env.nextPageSize();
      const size = capped ? Math.min(batchSize, allowed) : batchSize;
      if (spec.checkpointFirst) await env.checkpoint();
      // A page's time is its select plus its handling; the checkpoint and the test seam between
      // them are not the page's work and are left out.
      const selectStarted = performance.now();
      const got = await spec.select(afterId, size);
      const selectMs = performance.now() - selectStarted;
      // A TakenBatch: rows a take() already changed, counted in the database (no ids to show).
      const rows = Array.isArray(got) ? got : [];
      const count = Array.isArray(got) ? got.length : got.count;
      if (count === 0) break;
      if (Array.isArray(got)) {
        for (const row of rows) afterId = Math.max(afterId, Number(row.id));
        await env.afterSelect(label, rows.map((r) => Number(r.id)));
      } else {
        afterId = Math.max(afterId, got.lastId);
      }
      if (!spec.checkpointFirst) await env.checkpoint();
      let counted = 0;
      let limitReached = false;
      const page = {
        size: batchSize,
        canTake(n = 1) {
          if (env.remaining() >= n) return true;
          limitReached = true;
          return false;
        },
        take(n = 1) {
          if (!page.canTake(n)) return false;
          env.consume(n);
          counted += n;
          return true;
        },
      };
      const started = performance.now();
      const outcome = await spec.handle(rows, page, count);
      env.pageDone(count, selectMs + performance.now() - started);
      if (!spec.countsItself) page.take(count);
      batches += 1;
      items += counted;
      if (batches > 1 || count === size) env.out.progress(`${label}: ${groupDigits(items)} items in ${batches} batches`);
      if (limitReached) {
        limited = true;
        break;
      }
      if (outcome === 'stop') break;
      // A short page is the last one, unless the statement that filled it also changed rows:
      // then only an empty page says "done" (rows it passed over were simply not returned).
      if (count < size && !spec.endsOnEmptyPage) break;
    }
  } finally {
    env.out.clearProgress();
  }
  return { items, batches, limited };
}

/**
 * Apply a batch in one transaction; when the database refuses it, apply its rows one by one so a
 * bad row fails alone. Returns how many rows were refused (and reported).
 */
async function applyBatch<Row extends { id: number }>(env: PageEnvironment, spec: BatchSpec<Row>, rows: Row[]): Promise<number> {
  try {
    await env.transaction((trx) => spec.apply(trx, rows));
    return 0;
  } catch (err) {
    const text = rowError(err);
    if (text === undefined) throw err;
    if (rows.length === 1) {
      env.rowFailed(Number(rows[0]!.id), text);
      return 1;
    }
  }
  let failed = 0;
  for (const row of rows) {
    try {
      await env.transaction((trx) => spec.apply(trx, [row]));
    } catch (err) {
      const text = rowError(err);
      if (text === undefined) throw err;
      env.rowFailed(Number(row.id), text);
      failed += 1;
    }
  }
  return failed;
}

/** eachPage with one transaction per page (select → checkpoint → apply). */
export function eachBatch<Row extends { id: number }>(outer: PageEnvironment, spec: BatchSpec<Row>): Promise<BatchTotals> {
  const { take } = spec;
  // Every write of a batch is in env.transaction, whose first statement confirms the lock: the
  // checkpoint need not spend a round trip on it.
  const env: PageEnvironment = { ...outer, checkpoint: () => outer.checkpoint(true) };
  // Rows refused alone in the current page: handled, but not counted as done.
  let refused = 0;
  if (take && !env.dryRun) {
    // One statement picks and changes the batch, inside the batch's transaction. When the database
    // refuses that statement, the batch is done the select + apply way, row by row if need be.
    return eachPage<Row>(env, {
      label: spec.label,
      checkpointFirst: true,
      endsOnEmptyPage: true,
      countsItself: true,
      select: async (afterId, size) => {
        refused = 0;
        try {
          return await env.transaction((trx) => take(trx, afterId, size));
        } catch (err) {
          if (rowError(err) === undefined) throw err;
          // Within the cap of a statement that binds each row's id (a takeMax page may be larger).
          const rows = await spec.select(afterId, Math.min(size, LIMITS.batchSize));
          refused = await applyBatch(env, spec, rows);
          return rows;
        }
      },
      handle: async (_rows, page, count) => {
        page.take(count - refused);
      },
    });
  }
  return eachPage<Row>(env, {
    label: spec.label,
    countsItself: true,
    select: (afterId, size) => spec.select(afterId, size),
    handle: async (rows, page) => {
      if (env.dryRun) await spec.preview?.(rows);
      const failed = env.dryRun ? 0 : await applyBatch(env, spec, rows);
      page.take(rows.length - failed);
    },
  });
}

/** Every row of a listing, a page at a time, with no checkpoint and no --limit: reading only. */
export async function eachListedRow<Row extends { id: number }>(
  select: (afterId: number, size: number) => Promise<Row[]>,
  fn: (row: Row) => void,
  size = 1000,
): Promise<void> {
  let afterId = 0;
  for (;;) {
    const rows = await select(afterId, size);
    rows.forEach(fn);
    if (rows.length < size) return;
    afterId = Number(rows[rows.length - 1]!.id);
  }
}
