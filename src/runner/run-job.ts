/**
 * The one place a job run happens: configuration → connection → migrations check → (disabled?
 * lock, abandoned runs, job_runs row, signals) → handler → summary, status and exit code →
 * (row finished, release, ping, alert) → close. A dry run skips everything in parentheses.
 * docs/run-safety.md tells the operator's side of it.
 */
import { hostname } from 'node:os';
import type { Knex } from 'knex';
import { classifyDatabaseError, describeError } from '../errors.js';
import { formatUtc, groupDigits, type Output } from '../output.js';
import type { JobDefinition } from '../registry.js';
import { RunContext } from './context.js';
import { withHooks } from './hooks.js';
import { assertMigrated, refuseFutureNow, withSession, type Invocation, type Session } from './session.js';
import type { RunHooks } from './hooks.js';
import { RunInterrupted, StopSignals } from './signals.js';
import type { JobContext, JobResult } from './types.js';
import { shardLabel, type Shard } from '../parse.js';
import { resolveShard } from './shard.js';

export interface CommonOptions {
  dryRun: boolean;
  verbose: boolean;
  json: boolean;
  now?: Date;
  /** A fixed number of items per batch, or `auto`: sized by time (--batch-time). */
  batchSize: number | 'auto';
  /** --batch-time in milliseconds: the target of one batch under `auto` (default 200). */
  batchTimeMs?: number;
  limit?: number;
  /** --shard i/n (else ONTIME_SHARD / JOB_COMPLETION_INDEX, runner/shard.ts): only rows with id % n = i. */
  shard?: Shard;
  /** Milliseconds; defaults to the job's timeout from the registry. */
  timeout?: number;
  /** Who started the run: a person or scheduler directly (`cli`), or the dispatcher (`run-due`). */
  trigger?: 'cli' | 'run-due';
  /** The schedule slot this run serves (dispatcher runs); claims the slot in job_runs. */
  scheduledFor?: Date;
}

/** --batch-time's default: a batch transaction of about 200 ms under `--batch-size auto`. */
export const DEFAULT_BATCH_TIME_MS = 200;

export type RunStatus = 'succeeded' | 'partial' | 'failed' | 'skipped' | 'interrupted';


export async function runJob(
  def: JobDefinition,
  common: CommonOptions,
  jobOptions: Record<string, unknown>,
  inv: Invocation,
): Promise<number> {
  const clockAtStart = new Date();
  const now = common.now ?? clockAtStart;
  let shard: Shard | undefined;
  const header = () => ({ job: def.name, ...(shard ? { shard: shardLabel(shard) } : {}), dryRun: common.dryRun, now: now.toISOString() });
  return withSession(inv, { json: common.json, verbose: common.verbose, jsonOnError: header, job: def.name }, async (session) => {
    await def.validate?.(jobOptions, session.config);
    shard = resolveShard(def, common.shard, session.config.env);
    if (shard) session.out.context.shard = shardLabel(shard);
    refuseFutureNow(common.now, clockAtStart, common.dryRun, 'a run in the future changes data early; add --dry-run to preview it');
    const timeoutMs = common.timeout ?? def.timeoutSeconds * 1000;
    let db: Knex;
    try {
      db = await session.db();
      await assertMigrated(db);
    } catch (err) {
      // The monitor still hears how a real run ended when the database is out of reach.
      if (!common.dryRun) {
        const { sendPing } = await import('./ping.js');
        await sendPing(session.config.pingUrl, def.name, String(exitCodeOf(err, session)), session.out);
      }
      throw err;
    }
    const { reportingBadRows } = await import('./bad-rows.js');
    const handler = reportingBadRows(def, (await def.load()).default);
    const { isJobEnabled } = await import('../db/job-settings.js');
    const enabled = await isJobEnabled(db, def.name);

    if (common.dryRun) {
      // A dry run of a disabled job still previews: that is how one checks it before enabling it.
      if (!enabled) session.out.notice(`note: ${def.name} is disabled; this dry run shows what it would change once enabled`);
      const ctx = new RunContext({
        job: def, db, config: session.config, out: session.out, now, dryRun: true, verbose: common.verbose,
        batchSize: common.batchSize, batchTimeMs: common.batchTimeMs ?? DEFAULT_BATCH_TIME_MS, limit: common.limit,
        deadline: Date.now() + timeoutMs, timeoutMs, runId: null, shard,
        hooks: withHooks(inv.hooks),
      });
      session.onClose(() => ctx.closeMailer());
      const result: JobResult = await handler(ctx, jobOptions);
      reportBatches(session.out, ctx);
      const exitCode = result.exitCode ?? (result.failed ? 1 : 0);
      const status: RunStatus = exitCode === 0 ? 'succeeded' : exitCode === 1 ? 'partial' : 'failed';
      if (common.json) {
        session.out.emitJson({
          ...header(), status, exitCode, summary: result.summary, durationMs: Math.round(Date.now() - clockAtStart.getTime()),
          timing: ctx.batchReport(),
        });
      }
      return exitCode;
    }

    return realRun({ def, common, jobOptions, session, db, now, timeoutMs, enabled, handler, header, clockAtStart, hooks: withHooks(inv.hooks), shard });
  });
}

function exitCodeOf(err: unknown, session: Session): number {
  return describeError(classifyDatabaseError(err, session.config.database.display) ?? err).exitCode;
}

interface RealRun {
  def: JobDefinition;
  common: CommonOptions;
  jobOptions: Record<string, unknown>;
  session: Session;
  db: Knex;
  now: Date;
  timeoutMs: number;
  enabled: boolean;
  handler: (ctx: JobContext, options: Record<string, unknown>) => Promise<JobResult>;
  header: () => Record<string, unknown>;
  clockAtStart: Date;
  hooks: RunHooks;
  shard?: Shard;
}

/** A real run: everything of "How every run goes" (docs/reference/jobs.md) around the handler. */
async function realRun(r: RealRun): Promise<number> {
  const { def, common, session, db } = r;
  const { out, config } = session;
  const dialect = config.database.dialect;
  const [{ RunRecorder }, locks, { abandonRunningRuns, SlotTakenError }, { sendPing }] = await Promise.all([
    import('./history.js'),
    import('./locks.js'),
    import('../db/job-runs.js'),
    import('./ping.js'),
  ]);
  const host = hostname();
  // A shard has a lock of its own (`<job>#i/n`): shards run side by side, two copies of one never;
  // runs of another layout (unsharded, another n) are refused after the lock (shard-layout.ts).
  const shard = r.shard ? shardLabel(r.shard) : '';
  const lockedName = shard ? `${def.name}#${shard}` : def.name;
  const recorder = new RunRecorder(db, dialect, {
    job: def.name,
    shard,
    trigger: common.trigger ?? 'cli',
    scheduledFor: common.scheduledFor ?? null,
    host,
    pid: process.pid,
  });
  const slotNote = () =>
    out.line(`${def.name}: the schedule slot ${formatUtc(common.scheduledFor!)} already has a run (another host took it); nothing to do.`);
  const emitSkipped = (reason: string, extra: Record<string, unknown> = {}) => {
    if (common.json) out.emitJson({ ...r.header(), status: 'skipped', exitCode: 0, reason, runId: recorder.runId, ...extra });
    return 0;
  };

  if (!r.enabled) {
    const recorded = await recorder.skipped({ reason: 'disabled' });
    if (!recorded) slotNote();
    out.line(`${def.name} is disabled (system setting job.${def.name}.enabled); nothing done. Enable it with \`ontime enable ${def.name}\`.`);
    return emitSkipped('disabled');
  }

  const signals = new StopSignals(out);
  signals.install();
  let lock: import('./locks.js').JobLock | undefined;
  try {
    await r.hooks.beforeLock(out);
    // A dispatcher run claims its schedule slot before it asks for the lock: the slot is what two
    // run-due hosts race for, and a run that then finds the lock held must not have left the slot
    // to nobody (a `skipped` row written first would make the holder's own claim fail).
    if (common.scheduledFor) {
      try {
        await recorder.start();
      } catch (err) {
        if (err instanceof SlotTakenError) {
          slotNote();
          return emitSkipped('slot taken');
        }
        throw err;
      }
    }
    const attempt = await locks.acquireJobLock({
      db, dialect, mode: config.lockMode, job: lockedName, holder: locks.holderIdentity(host, process.pid), timeoutMs: r.timeoutMs,
    });
    // Held by someone else (`other`: a run of another layout, see shard-layout.ts): a skipped row naming the holder, exit 0.
    const skipForLock = async ({ holder, runId, expiresAt }: import('./locks.js').LockHolderInfo, other?: string) => {
      const why = { reason: 'lock held', holder, ...(other ? { holderLock: other } : {}), holderRunId: runId ?? null, holderLeaseExpires: expiresAt ?? null };
      if (recorder.runId !== null) await recorder.finish('skipped', 0, why, null);
      else await recorder.skipped(why);
      const what = other ? `cannot run while ${other} runs` : 'is already running';
      out.line(`${lockedName} ${what} (lock held by ${holder}); this run is skipped and changed nothing. Exit 0: the holder does the work.`);
      return emitSkipped('lock held', { holder, ...(other ? { holderLock: other } : {}) });
    };
    if (!attempt.acquired) return skipForLock(attempt.heldBy);
    lock = attempt.lock;
    if (attempt.tookOverFrom) {
      out.notice(`note: took over the expired lock of ${def.name} from ${attempt.tookOverFrom.holder}`);
    }

    const abandoned = await abandonRunningRuns(db, dialect, def.name, `${lock.holder}`, new Date(), recorder.runId, shard);
    if (abandoned.length > 0) {
      out.notice(`note: marked ${abandoned.length === 1 ? 'run' : 'runs'} #${abandoned.join(', #')} of ${def.name} abandoned: still "running" but no longer holding the lock (crashed or killed)`);
    }
    if (recorder.runId === null) await recorder.start();
    out.context.runId = recorder.runId;
    await lock.attachRun(recorder.runId!);
    // Only now, visible under our own lock and row, look for a run of another layout (unsharded vs shard, other n).
    const { layoutConflict } = await import('./shard-layout.js');
    const clash = await layoutConflict({ db, dialect, mode: config.lockMode, job: def.name, shard: r.shard });
    if (clash) {
      await releaseLock(lock, out, def.name);
      lock = undefined;
      return skipForLock(clash.heldBy, clash.lock);
    }
    await sendPing(config.pingUrl, def.name, 'start', out);

    const heldLock = lock;
    const ctx = new RunContext({
      job: def, db, config, out, now: r.now, dryRun: false, verbose: common.verbose, batchSize: common.batchSize,
      batchTimeMs: common.batchTimeMs ?? DEFAULT_BATCH_TIME_MS, limit: common.limit, deadline: Date.now() + r.timeoutMs, timeoutMs: r.timeoutMs, runId: recorder.runId, hooks: r.hooks, signals,
      shard: r.shard,
      beforeBatch: async (fencedInTransaction) => {
        await r.hooks.beforeCheckpoint(out);
        if (!(fencedInTransaction ? heldLock.held() : await heldLock.confirm())) throw lockLost(def.name);
        signals.check();
      },
      fence: {
        begin: async (trx) => {
          if (!(await heldLock.fence(trx))) throw lockLost(def.name);
        },
        beforeCommit: () => {
          if (!heldLock.held()) throw lockLost(def.name);
        },
      },
    });

    let result: JobResult | undefined;
    let failure: unknown;
    try {
      result = await r.handler(ctx, r.jobOptions);
    } catch (err) {
      failure = err;
    } finally {
      await ctx.closeMailer().catch((err) => out.warn(`while closing mail: ${(err as Error).message}`));
    }
    reportBatches(out, ctx);

    let exitCode: number;
    let status: RunStatus;
    let summary: Record<string, unknown>;
    let errorText: string | null = null;
    if (failure === undefined) {
      exitCode = result!.exitCode ?? (result!.failed ? 1 : 0);
      status = exitCode === 0 ? 'succeeded' : exitCode === 1 ? 'partial' : 'failed';
      summary = result!.summary;
    } else {
      const described = describeError(classifyDatabaseError(failure, config.database.display) ?? failure);
      exitCode = described.exitCode;
      status = failure instanceof RunInterrupted ? 'interrupted' : 'failed';
      summary = ctx.summarySoFar();
      if (failure instanceof RunInterrupted) Object.assign(summary, { stoppedBy: failure.reason }, failure.details);
      errorText = described.message;
      out.error(described.message, described.hint, { exitCode });
      if (common.verbose && failure instanceof Error && failure.stack) out.stack(failure.stack);
    }

    try {
      await recorder.finish(status, exitCode, summary, errorText);
    } catch (err) {
      out.warn(`could not record how run #${recorder.runId} ended: ${describeError(classifyDatabaseError(err, config.database.display) ?? err).message}`);
    }
    await releaseLock(lock, out, def.name);
    lock = undefined;
    await sendPing(config.pingUrl, def.name, String(exitCode), out);
    const { notifyAfterRun } = await import('./notify.js');
    await notifyAfterRun(config, db, {
      job: def.name, runId: recorder.runId!, status, exitCode, host, pid: process.pid, trigger: recorder.identity.trigger,
      startedAt: recorder.startedAt, error: errorText, lastLines: out.lastLines(), summary, finishedAt: new Date(),
    }, out);
    const { refreshStatusPage } = await import('../status/refresh.js');
    await refreshStatusPage(db, config, out);
    const { reportRunEnd } = await import('../metrics/publish.js');
    await reportRunEnd({
      db, env: config.env, out, host, status, batchSize: common.batchSize,
      run: { job: def.name, ...(shard ? { shard } : {}), exitCode, startedAt: recorder.startedAt, finishedAt: new Date(), summary, failed: result?.failed },
    });
    if (common.json) {
      out.emitJson({
        ...r.header(), status, exitCode, runId: recorder.runId, summary,
        ...(errorText ? { error: errorText } : {}),
        durationMs: Math.round(Date.now() - r.clockAtStart.getTime()),
        // The batches and the longest single batch transaction: how long this run held row locks
        // at a stretch.
        timing: ctx.batchReport(),
      });
    }
    return exitCode;
  } finally {
    if (lock) await releaseLock(lock, out, def.name);
    signals.remove();
  }
}

/**
 * The batches line of the summary (--verbose; --json has the same figures in `timing`): the
 * default report keeps the shape of docs/reference/jobs.md, which cron mails and scripts read.
 */
function reportBatches(out: Output, ctx: RunContext): void {
  const b = ctx.batchReport();
  if (b.batches === 0) return;
  const n = (v: number | undefined) => groupDigits(v ?? 0);
  out.detail(
    `Batches: ${n(b.batches)} (size ${n(b.smallestBatchSize)}–${n(b.largestBatchSize)}, last ${n(b.lastBatchSize)}); ` +
      `longest transaction ${b.longestBatchMs} ms`,
  );
}

function lockLost(job: string): RunInterrupted {
  return new RunInterrupted(
    'lock-lost',
    `the lock of ${job} is no longer ours (the lease expired and another run took it over); stopped before the next batch`,
    'another run carries on; if this keeps happening, raise --timeout (the lease is the time limit plus a margin)',
  );
}

async function releaseLock(lock: import('./locks.js').JobLock, out: Output, job: string): Promise<void> {
  try {
    if (!(await lock.release())) {
      out.warn(`the lock of ${job} was no longer ours when this run ended; it was left alone for its new holder`);
    }
  } catch (err) {
    out.warn(`could not release the lock of ${job}: ${(err as Error).message} (an advisory lock goes with the connection; a lease expires by itself)`);
  }
}
