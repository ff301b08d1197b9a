/**
 * This run's job_runs row: written `running` once the lock is ours, finished with status, counts,
 * exit code and (redacted) error; or written directly as `skipped` with the reason.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { redact } from '../errors.js';
import { finishJobRun, insertJobRun, SlotTakenError, type JobRunStatus, type JobTrigger } from '../db/job-runs.js';

export interface RunIdentity {
  job: string;
  /** `i/n` for a sharded run, '' otherwise (job_runs.shard). */
  shard: string;
  trigger: JobTrigger;
  scheduledFor: Date | null;
  host: string;
  pid: number;
}

export class RunRecorder {
  runId: number | null = null;
  readonly startedAt = new Date();

  constructor(
    private readonly db: Knex,
    private readonly dialect: Dialect,
    readonly identity: RunIdentity,
  ) {}

  /** The `running` row. Throws SlotTakenError when another run already serves this schedule slot. */
  async start(): Promise<number> {
    this.runId = await insertJobRun(this.db, this.dialect, { ...this.identity, startedAt: this.startedAt, status: 'running' });
    return this.runId;
  }

  /** A `skipped` row with the reason. False: the schedule slot already has a run, so no row was written. */
  async skipped(summary: Record<string, unknown>): Promise<boolean> {
    try {
      this.runId = await insertJobRun(this.db, this.dialect, {
        ...this.identity,
        startedAt: this.startedAt,
        finishedAt: new Date(),
        status: 'skipped',
        exitCode: 0,
        summary,
      });
      return true;
    } catch (err) {
      if (err instanceof SlotTakenError) return false;
      throw err;
    }
  }

  async finish(status: JobRunStatus, exitCode: number, summary: Record<string, unknown>, error: string | null): Promise<void> {
    if (this.runId === null) return;
    await finishJobRun(this.db, this.dialect, this.runId, {
      status,
      exitCode,
      summary,
      error: error === null ? null : redact(error).slice(0, 4000),
      finishedAt: new Date(),
    });
  }
}
