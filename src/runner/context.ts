/** RunContext: what a job handler gets (JobContext), for a real run or a dry run. */
import type { Knex } from 'knex';
import { transactionOf } from '../db/transaction.js';
import type { Config } from '../config.js';
import { formatUtc, groupDigits, type Output } from '../output.js';
import type { JobDefinition } from '../registry.js';
import type { Mailer } from '../mail/mailer.js';
import { adaptivePageSize, AUTO_BATCH, eachBatch, eachPage, fixedPageSize, type PageEnvironment } from './batches.js';
import type { RunHooks } from './hooks.js';
import type { Shard } from '../parse.js';
import { RunInterrupted, type StopListener, type StopSignals } from './signals.js';
import type { BatchSpec, BatchTotals, JobContext, PageSpec } from './types.js';
import { DEFAULT_SCHEMA, type Schema } from '../profiles/index.js';
import { dayIn } from '../reports/zone-days.js';

export interface BatchReport {
  batches: number;
  smallestBatchSize?: number;
  largestBatchSize?: number;
  lastBatchSize?: number;
  longestBatchMs: number;
}

interface RunContextInit {
  job: JobDefinition;
  db: Knex;
  config: Config;
  out: Output;
  now: Date;
  dryRun: boolean;
  verbose: boolean;
  /** --batch-size: a fixed size for every page, or `auto` (sized by time, --batch-time). */
  batchSize: number | 'auto';
  /** --batch-time: the target time of one page under `auto`, in milliseconds. */
  batchTimeMs: number;
  limit?: number;
  deadline: number;
  timeoutMs: number;
  runId: number | null;
  hooks: RunHooks;
  /** --shard: only rows with id % n = i (JobContext.shard). */
  shard?: Shard;
  /**
   * Run before every batch: fencing, signals (real runs). `fencedInTransaction`: the batch's
   * writes all go through transaction(), which fences itself, so no round trip is needed here.
   */
  beforeBatch?: (fencedInTransaction: boolean) => Promise<void>;
  /**
   * Fencing of every transaction() of a real run: `begin` is its first statement, `beforeCommit`
   * its last check (no round trip); either throws when the lock is no longer ours (rollback).
   */
  fence?: Fence;
  /** The run's SIGTERM/SIGINT handling (real runs), for handlers that forward stop requests. */
  signals?: StopSignals;
}

export interface Fence {
  begin(trx: Knex.Transaction): Promise<void>;
  beforeCommit(): void;
}

export class RunContext implements JobContext {
  readonly job: JobDefinition;
  readonly db: Knex;
  readonly config: Config;
  readonly out: Output;
  readonly now: Date;
  readonly today: string;
  readonly schema: Schema;
  readonly dryRun: boolean;
  readonly verbose: boolean;
  readonly actor: string;
  readonly runId: number | null;
  readonly hooks: RunHooks;
  readonly shard?: Shard;
  /** Epoch milliseconds at which the time limit (--timeout) is reached. */
  readonly deadlineAt: number;
  private readonly signals?: StopSignals;
  private left: number;
  private readonly deadline: number;
  private readonly timeoutMs: number;
  private mailerPromise?: Promise<Mailer>;
  private readonly beforeBatch?: (fencedInTransaction: boolean) => Promise<void>;
  private readonly fence?: Fence;
  /** The batch-size controller: how big the next page is; learns from each page's duration. */
  private readonly pageSizes: Pick<PageEnvironment, 'nextPageSize' | 'pageDone'>;
  /** --batch-size auto (pages sized by their duration, unless a paging names its own size). */
  private readonly autoSized: boolean;
  private readonly batchTimeMs: number;
  private progressReport?: () => Record<string, unknown>;
  /** The size the controller gave the page now being handled (recorded once it is done). */
  private pendingSize = 0;
  private sizes?: { smallest: number; largest: number; last: number };
  private pagesDone = 0;
  longestBatchMs = 0;
  /** Items and batches finished so far (for the summary of an interrupted run). */
  itemsDone = 0;
  batchesDone = 0;

  constructor(init: RunContextInit) {
    this.job = init.job;
    this.db = init.db;
    this.config = init.config;
    this.out = init.out;
    this.now = init.now;
    this.schema = init.config.schema ?? DEFAULT_SCHEMA;
    // Date columns hold the application's calendar days: today is the day in its zone (UTC unless
    // ONTIME_CALENDAR_TIMEZONE or the profile says otherwise); instants stay UTC.
    this.today = dayIn(init.now, this.schema.profile.calendarTimezone);
    this.dryRun = init.dryRun;
    this.verbose = init.verbose;
    this.actor = `job:${init.job.name}`;
    this.runId = init.runId;
    this.hooks = init.hooks;
    this.autoSized = init.batchSize === 'auto';
    this.shard = init.shard;
    this.batchTimeMs = init.batchTimeMs;
    this.pageSizes = init.batchSize === 'auto' ? adaptivePageSize(init.batchTimeMs) : fixedPageSize(init.batchSize);
    this.left = init.limit ?? Number.POSITIVE_INFINITY;
    this.deadline = init.deadline;
    this.timeoutMs = init.timeoutMs;
    this.beforeBatch = init.beforeBatch;
    this.fence = init.fence;
    this.signals = init.signals;
    this.deadlineAt = init.deadline;
  }

  /** Be told of SIGTERM/SIGINT the moment they arrive (real runs; a dry run has none). */
  onStop(listener: StopListener): () => void {
    return this.signals?.onRequest(listener) ?? (() => undefined);
  }

  get dialect() {
    return this.config.database.dialect;
  }

  remaining(): number {
    return this.left;
  }

  /**
   * Before every batch: the lock is still ours (fencing), no stop was asked for, time is left.
   * `fencedInTransaction` (eachBatch): the batch's transaction confirms the lock itself.
   */
  async checkpoint(fencedInTransaction = false): Promise<void> {
    // better-sqlite3 answers synchronously, so a run of batches would otherwise never give the
    // event loop a turn: signal handlers, the lease renewal timer and progress would wait for the
    // end of the run. One turn per batch (setImmediate passes the poll phase) is enough.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await this.beforeBatch?.(fencedInTransaction);
    if (Date.now() > this.deadline) {
      throw new RunInterrupted(
        'timeout',
        `time limit of ${Math.round(this.timeoutMs / 1000)}s reached; finished batches are committed, the rest is left for the next run`,
        'run it again, or raise --timeout',
      );
    }
  }

  /** Rows the database refused on their own (eachBatch, mail steps): reported, skipped, the run went on. */
  readonly failedRows: Array<{ id: number; error: string }> = [];

  rowFailed(id: number, error: string): void {
    this.failedRows.push({ id, error });
    this.out.warn(`row ${id} skipped: ${error}`);
  }

  eachBatch<Row extends { id: number }>(spec: BatchSpec<Row>): Promise<BatchTotals> {
    // A take that neither binds ids nor keeps rows may grow past the bound-parameter cap.
    if (spec.takeUnbounded && this.autoSized && !this.dryRun) {
      return eachBatch(this.pageEnvironment(adaptivePageSize(this.batchTimeMs, { ...AUTO_BATCH, max: AUTO_BATCH.unboundedMax })), spec);
    }
    return eachBatch(this.pageEnvironment(this.freshSizes()), spec);
  }

  eachPage<Row extends { id: number }>(spec: PageSpec<Row>): Promise<BatchTotals> {
    const sizes = spec.autoSize !== undefined && this.autoSized ? fixedPageSize(spec.autoSize) : this.freshSizes();
    return eachPage(this.pageEnvironment(sizes), spec);
  }

  /**
   * Under --batch-size auto, every paging starts its own estimate at the start size: the steps of
   * one job cost differently per row (governance's soft deletion grew its pages to 5,000 surveys,
   * and hard deletion, inheriting that size, ran 400–500 ms transactions; docs/performance.md).
   */
  private freshSizes(): Pick<PageEnvironment, 'nextPageSize' | 'pageDone'> {
    return this.autoSized ? adaptivePageSize(this.batchTimeMs) : this.pageSizes;
  }

  reportProgress(summary: () => Record<string, unknown>): void {
    this.progressReport = summary;
  }

  /** What an interrupted run records: the counts the runner kept, and the handler's own so far. */
  summarySoFar(): Record<string, unknown> {
    return { itemsDone: this.itemsDone, batchesDone: this.batchesDone, ...(this.progressReport?.() ?? {}) };
  }

  private pageEnvironment(sizes = this.pageSizes): PageEnvironment {
    return {
      db: this.db,
      dryRun: this.dryRun,
      out: this.out,
      checkpoint: (fencedInTransaction) => this.checkpoint(fencedInTransaction),
      remaining: () => this.left,
      consume: (n) => {
        this.left -= n;
        if (!this.dryRun) this.itemsDone += n;
      },
      nextPageSize: () => (this.pendingSize = sizes.nextPageSize()),
      pageDone: (rows, ms) => {
        if (!this.dryRun) this.batchesDone += 1;
        this.recordPage(rows, ms);
        sizes.pageDone(rows, ms);
      },
      transaction: (fn) => this.transaction(fn),
      afterSelect: (label, ids) => this.hooks.afterSelect(label, ids),
      rowFailed: (id, error) => this.rowFailed(id, error),
    };
  }

  private recordPage(rows: number, ms: number): void {
    const size = this.pendingSize;
    this.pagesDone += 1;
    this.sizes = this.sizes
      ? { smallest: Math.min(this.sizes.smallest, size), largest: Math.max(this.sizes.largest, size), last: size }
      : { smallest: size, largest: size, last: size };
    this.out.detail(`  batch ${this.pagesDone}: size ${groupDigits(size)}, ${groupDigits(rows)} rows in ${ms.toFixed(1)} ms`);
  }

  /**
   * The run's batches: how many, the smallest, largest and last size the runner chose (a page
   * may hold fewer rows: the last one, or one cut by --limit), and the longest transaction.
   */
  batchReport(): BatchReport {
    return {
      batches: this.pagesDone,
      ...(this.sizes ? { smallestBatchSize: this.sizes.smallest, largestBatchSize: this.sizes.largest, lastBatchSize: this.sizes.last } : {}),
      longestBatchMs: Math.round(this.longestBatchMs * 10) / 10,
    };
  }

  async transaction<T>(fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const fence = this.fence;
      // transactionOf: a failed COMMIT on SQLite is rolled back, not left open (db/transaction.ts).
      if (!fence) return await transactionOf(this.db, this.dialect, fn);
      return await transactionOf(this.db, this.dialect, async (trx) => {
        await fence.begin(trx);
        const result = await fn(trx);
        fence.beforeCommit();
        return result;
      });
    } finally {
      // A rolled-back transaction held its locks just as long: it counts too.
      this.longestBatchMs = Math.max(this.longestBatchMs, performance.now() - started);
    }
  }

  mailer(): Promise<Mailer> {
    this.mailerPromise ??= import('../mail/index.js').then((m) => m.createMailer(this.config, this.db, { console: this.out }));
    return this.mailerPromise;
  }

  async closeMailer(): Promise<void> {
    // A mailer that failed to set up was reported by the job that asked for it; nothing to close.
    const mailer = await this.mailerPromise?.catch(() => undefined);
    await mailer?.close();
  }

  /** `Starting … at 2026-11-23 02:00:00 UTC`, with the dry-run marker. */
  startLine(what: string): string {
    return `${this.dryRun ? '[dry run] ' : ''}Starting ${what} at ${formatUtc(this.now)}`;
  }

  /** The completion instant: `now` plus the time the run took, so --now runs read sensibly. */
  completedAt(): Date {
    return new Date(this.now.getTime() + (Date.now() - this.startedAtMs));
  }

  private readonly startedAtMs = Date.now();
}
