/**
 * The one place a job run happens: configuration → connection → migrations check → (lock and
 * job_runs row) → handler → summary, status and exit code → (release, ping, alert) → close.
 */
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import { TemporaryError, UsageError } from '../errors.js';
import { formatUtc, type Output } from '../output.js';
import type { JobDefinition } from '../registry.js';
import { utcDay } from '../db/time.js';
import type { Mailer } from '../mail/mailer.js';
import { runBatches } from './batches.js';
import { assertMigrated, withSession, type Invocation } from './session.js';
import type { BatchSpec, BatchTotals, JobContext, JobResult } from './types.js';

export interface CommonOptions {
  dryRun: boolean;
  verbose: boolean;
  json: boolean;
  now?: Date;
  batchSize: number;
  limit?: number;
  /** Milliseconds; defaults to the job's timeout from the registry. */
  timeout?: number;
}

export type RunStatus = 'succeeded' | 'partial' | 'failed' | 'skipped' | 'interrupted';

/** Slack for `--now` against the clock: a value typed a moment ago is not "the future". */
const NOW_SLACK_MS = 1000;

export async function runJob(
  def: JobDefinition,
  common: CommonOptions,
  jobOptions: Record<string, unknown>,
  inv: Invocation,
): Promise<number> {
  const clockAtStart = new Date();
  const now = common.now ?? clockAtStart;
  const header = () => ({ job: def.name, dryRun: common.dryRun, now: now.toISOString() });
  return withSession(inv, { json: common.json, verbose: common.verbose, jsonOnError: header }, async (session) => {
    if (common.now && !common.dryRun && common.now.getTime() > clockAtStart.getTime() + NOW_SLACK_MS) {
      throw new UsageError(
        `--now ${common.now.toISOString()} is later than the clock (${clockAtStart.toISOString()})`,
        'a run in the future changes data early; add --dry-run to preview it',
      );
    }
    const db = await session.db();
    await assertMigrated(db);

    // Run safety belongs here, for real runs only (a dry run takes no lock and writes no row):
    // take the job's lock (held → record `skipped`, exit 0), mark this job's crashed `running`
    // rows `abandoned`, write this run's `running` row, and arm signal handling.
    const runId: number | null = null;

    const { default: handler } = await def.load();
    const ctx = new RunContext({
      job: def,
      db,
      config: session.config,
      out: session.out,
      now,
      dryRun: common.dryRun,
      verbose: common.verbose,
      batchSize: common.batchSize,
      limit: common.limit,
      deadline: Date.now() + (common.timeout ?? def.timeoutSeconds * 1000),
      timeoutMs: common.timeout ?? def.timeoutSeconds * 1000,
      runId,
    });
    session.onClose(() => ctx.closeMailer());

    const result: JobResult = await handler(ctx, jobOptions);
    const exitCode = result.exitCode ?? (result.failed ? 1 : 0);
    const status: RunStatus = exitCode === 0 ? 'succeeded' : exitCode === 1 ? 'partial' : 'failed';

    // Run safety, at the end: record status, counts and exit code on the run's row, release the
    // lock (only if still ours), ping the monitor, and send the failure alert.

    if (common.json) {
      session.out.emitJson({
        ...header(),
        status,
        exitCode,
        summary: result.summary,
        durationMs: Math.round(Date.now() - clockAtStart.getTime()),
        // The longest single batch transaction: how long this run held row locks at a stretch.
        timing: { longestBatchMs: Math.round(ctx.longestBatchMs * 10) / 10 },
      });
    }
    return exitCode;
  });
}

interface RunContextInit {
  job: JobDefinition;
  db: Knex;
  config: Config;
  out: Output;
  now: Date;
  dryRun: boolean;
  verbose: boolean;
  batchSize: number;
  limit?: number;
  deadline: number;
  timeoutMs: number;
  runId: number | null;
}

export class RunContext implements JobContext {
  readonly job: JobDefinition;
  readonly db: Knex;
  readonly config: Config;
  readonly out: Output;
  readonly now: Date;
  readonly today: string;
  readonly dryRun: boolean;
  readonly verbose: boolean;
  readonly batchSize: number;
  readonly actor: string;
  readonly runId: number | null;
  private left: number;
  private readonly deadline: number;
  private readonly timeoutMs: number;
  private mailerPromise?: Promise<Mailer>;
  longestBatchMs = 0;

  constructor(init: RunContextInit) {
    this.job = init.job;
    this.db = init.db;
    this.config = init.config;
    this.out = init.out;
    this.now = init.now;
    this.today = utcDay(init.now);
    this.dryRun = init.dryRun;
    this.verbose = init.verbose;
    this.batchSize = init.batchSize;
    this.actor = `job:${init.job.name}`;
    this.runId = init.runId;
    this.left = init.limit ?? Number.POSITIVE_INFINITY;
    this.deadline = init.deadline;
    this.timeoutMs = init.timeoutMs;
  }

  get dialect() {
    return this.config.database.dialect;
  }

  remaining(): number {
    return this.left;
  }

  async checkpoint(): Promise<void> {
    if (Date.now() > this.deadline) {
      throw new TemporaryError(
        `time limit of ${Math.round(this.timeoutMs / 1000)}s reached; finished batches are committed, the rest is left for the next run`,
        'run it again, or raise --timeout',
      );
    }
  }

  eachBatch<Row extends { id: number }>(spec: BatchSpec<Row>): Promise<BatchTotals> {
    return runBatches(
      {
        db: this.db,
        dryRun: this.dryRun,
        batchSize: this.batchSize,
        out: this.out,
        checkpoint: () => this.checkpoint(),
        remaining: () => this.left,
        consume: (n) => {
          this.left -= n;
        },
        recordBatchDuration: (ms) => {
          this.longestBatchMs = Math.max(this.longestBatchMs, ms);
        },
      },
      spec,
    );
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
