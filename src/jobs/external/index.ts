/**
 * The handler of an external job: its work is "run the command". Everything else (lock,
 * job_runs row, pings, alerts, exit code) is the runner's, as for every job. While the command
 * runs, a stop request reaches it at once: SIGTERM/SIGINT to ontime are forwarded to its process
 * group; the time limit and a lost lock (fencing, checked every few seconds) send SIGTERM; each
 * is followed by SIGKILL once the grace period (--kill-after) has passed.
 */
import { redact } from '../../errors.js';
import { commandText } from '../../external/jobs-file.js';
import { OUTCOME_EXIT_CODES, type ExternalJobSpec } from '../../external/validate.js';
import { RunInterrupted } from '../../runner/signals.js';
import type { JobContext, JobHandler, JobResult } from '../../runner/types.js';
import { SupervisedCommand } from './child.js';

export interface ExternalJobOptions {
  /** --kill-after, milliseconds: overrides the file's killAfter. */
  killAfter?: number;
}

/** Lines of the command's output kept for job_runs.summary (the alert gets the runner's own tail). */
const KEPT_LINES = 20;
const KEPT_LINE_LENGTH = 500;

/** How often the lock is confirmed while the command runs (fencing), at most. */
const FENCE_EVERY_MS = 5_000;

export function externalJobHandler(spec: ExternalJobSpec): JobHandler<ExternalJobOptions> {
  return async (ctx: JobContext, options: ExternalJobOptions): Promise<JobResult> => {
    const killAfterMs = options.killAfter ?? spec.killAfterMs;
    const cwd = spec.cwd ?? process.cwd();
    const command = commandText(spec);
    const base = { command, ...(spec.cwd ? { cwd } : {}) };
    if (ctx.dryRun) {
      ctx.out.line(`[dry run] ${spec.name} would run: ${command}`);
      ctx.out.line(`  in ${cwd}${Object.keys(spec.env).length ? `, with ${Object.keys(spec.env).sort().join(', ')} set` : ''}`);
      ctx.out.line(`  stopped after ${Math.round((ctx.deadlineAt! - Date.now()) / 1000)}s (SIGTERM, then SIGKILL ${killAfterMs / 1000}s later); exit codes: ${describeMapping(spec)}`);
      return { summary: { ...base, wouldRun: true } };
    }
    ctx.out.line(ctx.startLine(`${spec.name}: ${command}`));
    return runCommand(ctx, spec, killAfterMs, cwd, base);
  };
}

function describeMapping(spec: ExternalJobSpec): string {
  return `${Object.entries(spec.exitCodes).map(([code, outcome]) => `${code} ${outcome}`).join(', ')}, any other failed`;
}

async function runCommand(ctx: JobContext, spec: ExternalJobSpec, killAfterMs: number, cwd: string, base: Record<string, unknown>): Promise<JobResult> {
  // A stop asked for before the command starts (a signal while the lock was taken) starts nothing.
  await ctx.checkpoint();
  const kept: string[] = [];
  const child = new SupervisedCommand({
    spec,
    killAfterMs,
    cwd,
    env: { ...ctx.config.env, ...spec.env, ONTIME_JOB: spec.name, ONTIME_RUN_ID: String(ctx.runId ?? '') },
    onLine: (stream, line) => {
      if (stream === 'stdout') ctx.out.line(line);
      else ctx.out.notice(line);
      kept.push(redact(line).slice(0, KEPT_LINE_LENGTH));
      if (kept.length > KEPT_LINES) kept.shift();
    },
  });

  let stop: RunInterrupted | undefined;
  const requestStop = (reason: RunInterrupted, signal: NodeJS.Signals) => {
    if (stop) return;
    stop = reason;
    ctx.out.notice(`${spec.name}: ${reason.message}; sending ${signal} to the command, SIGKILL in ${killAfterMs / 1000}s if it is still running`);
    child.stop(signal, killAfterMs);
  };
  const unsubscribe = ctx.onStop?.((signal, again) => {
    // The second signal stops ontime at once; the command goes with it, without a grace period.
    if (again) return child.kill();
    requestStop(new RunInterrupted(signal, `stopped by ${signal}`), signal);
  });
  const timeoutMs = Math.max(0, (ctx.deadlineAt ?? Number.POSITIVE_INFINITY) - Date.now());
  const timeLimit = Number.isFinite(timeoutMs)
    ? setTimeout(
        () => requestStop(new RunInterrupted('timeout', `time limit of ${Math.round(timeoutMs / 1000)}s reached`, 'raise the timeout in the jobs file, or pass --timeout'), 'SIGTERM'),
        timeoutMs,
      )
    : undefined;
  let fencing = false;
  const fence = setInterval(() => {
    if (fencing || stop) return;
    fencing = true;
    ctx.checkpoint().then(
      () => undefined,
      (err: unknown) => {
        // A lock that cannot be confirmed is treated as lost: never two copies of the command.
        const interrupted = err instanceof RunInterrupted ? err : new RunInterrupted('lock-lost', `cannot confirm the lock of ${spec.name}: ${(err as Error).message}`);
        requestStop(interrupted, interrupted.reason === 'SIGINT' ? 'SIGINT' : 'SIGTERM');
      },
    ).finally(() => {
      fencing = false;
    });
  }, Math.min(FENCE_EVERY_MS, Math.max(250, Math.floor(timeoutMs / 4))));

  let outcome;
  try {
    outcome = await child.done;
  } finally {
    unsubscribe?.();
    clearTimeout(timeLimit);
    clearInterval(fence);
  }
  const summary: Record<string, unknown> = { ...base, childExitCode: outcome.code, childSignal: outcome.signal, lastLines: kept };
  if (stop) {
    throw new RunInterrupted(stop.reason, `${stop.message}; the command ${endedText(outcome)}`, stop.hint, summary);
  }
  if (outcome.startError) {
    ctx.out.error(`${spec.name}: cannot start ${String(base.command)}: ${outcome.startError.message}`, 'check the command and its cwd in the jobs file (the program must be on PATH or given with its path)');
    return { summary: { ...summary, startError: outcome.startError.message }, exitCode: 78 };
  }
  const mapped = outcome.code === null ? 'failed' : (spec.exitCodes[String(outcome.code)] ?? 'failed');
  const exitCode = OUTCOME_EXIT_CODES[mapped];
  summary.outcome = mapped;
  const line = `${spec.name}: the command ${endedText(outcome)} (${mapped})`;
  if (mapped === 'succeeded') ctx.out.line(line);
  else if (mapped === 'partial') ctx.out.warn(line);
  else ctx.out.error(line);
  return { summary, exitCode };
}

function endedText(outcome: { code: number | null; signal: string | null }): string {
  return outcome.signal ? `was ended by ${outcome.signal}` : `exited with code ${outcome.code}`;
}
