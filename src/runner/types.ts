/** What a job handler receives and returns. Type-only: importing it loads nothing. */
import type { Knex } from 'knex';
import type { Config, Dialect } from '../config.js';
import type { Output } from '../output.js';
import type { JobDefinition } from '../registry.js';
import type { Mailer } from '../mail/mailer.js';
import type { RunHooks } from './hooks.js';
import type { Schema } from '../profiles/types.js';
import type { Shard } from '../parse.js';

export interface BatchSpec<Row extends { id: number }> {
  /** Shown in progress on a terminal, e.g. "deleting expired progress". */
  label?: string;
  /** Due rows with id > afterId, in ascending id order, at most `size` of them. */
  select(afterId: number, size: number): Promise<Row[]>;
  /** Change one batch inside its own transaction (real runs). */
  apply(trx: Knex.Transaction, rows: Row[]): Promise<void>;
  /** Dry run: called instead of apply, with no transaction; must write nothing. */
  preview?(rows: Row[]): void | Promise<void>;
  /**
   * Real runs, instead of select + apply when given: pick and change the next batch (rows with
   * id > afterId, at most `size`) in one statement inside the batch's transaction — e.g. one
   * `DELETE … WHERE id > a AND id <= b AND <still due> RETURNING …` — and return exactly the
   * rows changed. The next batch starts after the highest id returned; the loop ends at a batch
   * that changes nothing. The dry run still uses select + preview, which must pick the same rows.
   * A take may return a TakenBatch instead: how many rows it changed and the highest id, when
   * sending every changed row back to node would cost more than changing it.
   */
  take?(trx: Knex.Transaction, afterId: number, size: number): Promise<Row[] | TakenBatch>;
  /**
   * take() binds no ids and keeps no rows (it returns a TakenBatch): under --batch-size auto its
   * batches may grow to 100,000 rows, past the cap of select + apply (LIMITS.batchSize, which
   * keeps bound parameters within the databases' limits). A refused batch falls back to select +
   * apply within that cap.
   */
  takeUnbounded?: boolean;
}

/** What a take() changed, counted in the database: the rows and the highest id among them. */
export interface TakenBatch {
  count: number;
  lastId: number;
}

/** One page being handled: its size, and --limit taken item by item. */
export interface Page {
  /** The page size the runner chose for this page (before --limit): a budget for inner loops. */
  readonly size: number;
  /**
   * Counts n items done against --limit (and the run's summary); false, counting nothing, when
   * the limit has fewer than n left: the handler stops there and paging ends as limited.
   */
  take(n?: number): boolean;
  /** Whether --limit has n more items (false marks the paging limited; the handler stops). */
  canTake(n?: number): boolean;
}

export interface PageSpec<Row extends { id: number }> {
  /** Shown in progress on a terminal, e.g. "sending scheduled emails". */
  label?: string;
  /**
   * Due rows with id > afterId, in ascending id order, at most `size` of them; or, for a page a
   * take() already changed in the database, only their count and highest id.
   */
  select(afterId: number, size: number): Promise<Row[] | TakenBatch>;
  /**
   * Handle one page, with no transaction around it (open short ones as needed). Return 'stop' to
   * end paging after this page. A page that select() reported as a TakenBatch comes as [].
   */
  handle(rows: Row[], page: Page, count: number): Promise<void | 'stop'>;
  /**
   * By default every row of a page counts as one item done. Set when the handler counts with
   * page.take() itself (rows it only skips then use no --limit).
   */
  countsItself?: boolean;
  /** Default true: a page holds no more rows than --limit has left. */
  limitCapsPage?: boolean;
  /** Checkpoint before the select instead of between select and handle. */
  checkpointFirst?: boolean;
  /** Only an empty page ends paging (select also changes rows and may pass some over). */
  endsOnEmptyPage?: boolean;
  /**
   * Under `--batch-size auto`, every page holds this many rows instead of a size drawn from the
   * pages' durations: for a page that is not one transaction (mail: SMTP conversations, then
   * short group commits) its duration says nothing about any transaction, and shrinking it only
   * adds page turns. A number given with --batch-size still wins.
   */
  autoSize?: number;
}

export interface BatchTotals {
  items: number;
  batches: number;
  /** True when --limit stopped the loop with rows possibly left. */
  limited: boolean;
}

export interface JobContext {
  readonly job: JobDefinition;
  readonly db: Knex;
  readonly dialect: Dialect;
  /** The instant the run is evaluated at (the clock, or --now). */
  readonly now: Date;
  /** now's calendar day, YYYY-MM-DD, in the profile's calendar zone (ONTIME_CALENDAR_TIMEZONE; UTC by default). */
  readonly today: string;
  /** The schema profile and ontime's own table names (docs/profiles.md); the db functions read the same from the connection. */
  readonly schema: Schema;
  readonly dryRun: boolean;
  readonly verbose: boolean;
  readonly out: Output;
  readonly config: Config;
  /** `job:<name>`, the actor of audit rows and the source of history rows. */
  readonly actor: string;
  /** The job_runs row of this run; null in a dry run. */
  readonly runId: number | null;
  /** Test seams (runner/hooks.ts); no-ops in production. */
  readonly hooks: RunHooks;
  /**
   * --shard i/n: this run takes only rows with `id % n = i`. Every selection the job makes passes
   * it to its db function, which applies it with whereShard (db/shard.ts). Undefined: all rows.
   */
  readonly shard?: Shard;
  /**
   * Keyset batches: select → (checkpoint) → one short transaction per batch, honouring
   * --batch-size and --limit (shared by every loop of the run), with progress on a terminal.
   */
  eachBatch<Row extends { id: number }>(spec: BatchSpec<Row>): Promise<BatchTotals>;
  /** Rows skipped because the database refused them alone (id and the database's message). */
  readonly failedRows: ReadonlyArray<{ id: number; error: string }>;
  /**
   * A row the database refused on its own outside eachBatch (a job's own transaction in eachPage;
   * tell it with refusedRowError): listed in failedRows and warned; the run ends partial (exit 1).
   */
  rowFailed(id: number, error: string): void;
  /**
   * The same paging, checkpoint, --limit, progress and counting as eachBatch, without the
   * transaction: for pages whose work must not sit inside one (mail) or that open several.
   */
  eachPage<Row extends { id: number }>(spec: PageSpec<Row>): Promise<BatchTotals>;
  /**
   * What the run has done so far, in its summary's own terms: recorded in job_runs.summary (beside
   * itemsDone and batchesDone) when the run stops early (time limit, signal, lost lock, error).
   */
  reportProgress(summary: () => Record<string, unknown>): void;
  /**
   * One transaction that does not fit eachBatch's select → apply shape (e.g. a batch deleted in
   * several bounded statements). Timed like an eachBatch transaction, so `timing.longestBatchMs`
   * covers it. Keep it as short as a batch.
   */
  transaction<T>(fn: (trx: Knex.Transaction) => Promise<T>): Promise<T>;
  /** How many more items --limit allows (Infinity without one). */
  remaining(): number;
  /** Called by the runner before every batch: lease still ours, time limit, signals. Throws to stop. */
  checkpoint(): Promise<void>;
  /** Epoch milliseconds at which the time limit (--timeout) is reached. */
  readonly deadlineAt?: number;
  /**
   * Be told of SIGTERM/SIGINT the moment they arrive (`again`: the second one, after which the
   * process stops at once); for a handler whose work is a child process. Returns the unsubscribe.
   */
  onStop?(listener: (signal: 'SIGTERM' | 'SIGINT', again: boolean) => void): () => void;
  /** The mail layer, loaded (with nodemailer) on first use. */
  mailer(): Promise<Mailer>;
  /** `Starting <what> at 2026-11-23 02:00:00 UTC`, marked when it is a dry run. */
  startLine(what: string): string;
  /** `now` plus the time the run has taken: the instant for the completion line. */
  completedAt(): Date;
}

export interface JobResult {
  /** Counts for --json and job_runs.summary. */
  summary: Record<string, unknown>;
  /** Items that failed; more than zero makes the run `partial`, exit 1. */
  failed?: number;
  /** A specific exit code (e.g. 69 when SMTP could not be reached at all). */
  exitCode?: number;
}

export type JobHandler<Options = Record<string, unknown>> = (ctx: JobContext, options: Options) => Promise<JobResult>;
