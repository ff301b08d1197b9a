/**
 * The dispatcher behind `ontime run-due` and `ontime work`: for every enabled job with a
 * schedule, the latest slot at or before now; if job_runs has no row for (job, slot) and the
 * slot is inside its catch-up window, start the job as a child process with
 * `--trigger run-due --scheduled-for <slot>`. Jobs run one after another; one failing does not
 * stop the others. Older missed slots are counted and reported, never replayed.
 */
import { hostname } from 'node:os';
import type { ChildProcess } from 'node:child_process';
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { OntimeError } from '../errors.js';
import { isJobEnabled, jobsWithSchedules } from '../db/job-settings.js';
import { lastScheduledRun, runForSlot, type JobRun } from '../db/job-status.js';
import { formatUtc, type Output } from '../output.js';
import { startArgs, type JobDefinition } from '../registry.js';
import { evaluateDue } from '../schedule/due.js';
import { exitMeaning, spawnJob, worstExitCode } from './spawn-job.js';
import { formatInZone } from './time-format.js';

export type DueAction = 'run' | 'already-ran' | 'disabled' | 'missed' | 'no-slot' | 'unscheduled' | 'bad-setting';

export interface DueEntry {
  job: JobDefinition;
  action: DueAction;
  slot: Date | null;
  /** The row that already serves the slot (already-ran). */
  existing?: JobRun;
  /** Earlier slots with no run since the previous dispatcher run (or since setup): reported, not replayed. */
  missedEarlier: number;
  /** The end of the slot's catch-up window. */
  windowEnds?: Date;
  /** Why a job could not be considered (an unreadable job.<name>.enabled setting). */
  problem?: string;
  problemExitCode?: number;
}

export interface DueOutcome {
  job: string;
  slot: string;
  exitCode: number;
  /** succeeded / partial / failed / skipped / taken-by-another-run / no-row / stopped */
  result: string;
  runId: number | null;
  note?: string;
}

export async function planRunDue(db: Knex, dialect: Dialect, now: Date, timezone: string): Promise<DueEntry[]> {
  const plan: DueEntry[] = [];
  for (const def of await jobsWithSchedules(db)) {
    if (!def.schedule) {
      plan.push({ job: def, action: 'unscheduled', slot: null, missedEarlier: 0 });
      continue;
    }
    const previous = await lastScheduledRun(db, dialect, def.name, now);
    const decision = evaluateDue({
      schedule: def.schedule,
      timeZone: timezone,
      now,
      recordedSlots: previous?.scheduledFor ? [previous.scheduledFor] : [],
    });
    const slot = decision.slot;
    if (decision.state === 'no-slot' || !slot) {
      plan.push({ job: def, action: 'no-slot', slot: null, missedEarlier: 0 });
      continue;
    }
    const windowEnds = new Date(slot.getTime() + decision.windowMs);
    if (decision.state === 'already-run') {
      const existing = (await runForSlot(db, dialect, def.name, slot)) ?? previous;
      plan.push({ job: def, action: 'already-ran', slot, existing, missedEarlier: 0, windowEnds });
      continue;
    }
    let enabled: boolean;
    try {
      enabled = await isJobEnabled(db, def.name);
    } catch (err) {
      const problem = err instanceof OntimeError ? err.message : String(err);
      plan.push({ job: def, action: 'bad-setting', slot, missedEarlier: 0, problem, problemExitCode: err instanceof OntimeError ? err.exitCode : 70 });
      continue;
    }
    // When due, `missed` counts the earlier slots coalesced into this run; when missed, it
    // includes this slot too.
    const missedCount = decision.missed ? decision.missed.count - (decision.state === 'missed' ? 1 : 0) : 0;
    if (!enabled) plan.push({ job: def, action: 'disabled', slot, missedEarlier: missedCount, windowEnds });
    else if (decision.state === 'missed') plan.push({ job: def, action: 'missed', slot, missedEarlier: missedCount, windowEnds });
    else plan.push({ job: def, action: 'run', slot, missedEarlier: missedCount, windowEnds });
  }
  return plan;
}

export interface DispatchOptions {
  db: Knex;
  dialect: Dialect;
  out: Output;
  env: NodeJS.ProcessEnv;
  cwd: string;
  timezone: string;
  now: Date;
  /** Pass --now on to the children (run-due was given --now). */
  passNow: boolean;
  dryRun: boolean;
  verbose: boolean;
  /** Checked before each job: true = start no further job. */
  stopRequested(): boolean;
  /** The child now running (null when it ended), so a signal can be forwarded to it. */
  onChild?(child: ChildProcess | null): void;
}

export interface DispatchResult {
  now: Date;
  plan: DueEntry[];
  outcomes: DueOutcome[];
  exitCode: number;
}

function slotText(slot: Date, timezone: string): string {
  return timezone === 'UTC' ? formatUtc(slot) : `${formatUtc(slot)} (${formatInZone(slot, timezone)})`;
}

/** One dispatcher pass: plan, say what is due, start each due job in turn, summarise. */
export async function runDuePass(o: DispatchOptions): Promise<DispatchResult> {
  const { out } = o;
  const plan = await planRunDue(o.db, o.dialect, o.now, o.timezone);
  const due = plan.filter((e) => e.action === 'run');
  const talk = o.verbose || o.dryRun;
  const codes: number[] = [];

  if (talk || due.length > 0) {
    out.line(`${o.dryRun ? '[dry run] ' : ''}run-due at ${formatUtc(o.now)} (schedules read in ${o.timezone})`);
  }
  for (const e of plan) {
    if (e.action === 'bad-setting') {
      out.warn(`${e.job.name}: not started: ${e.problem}`);
      codes.push(e.problemExitCode ?? 78);
    }
    if (!talk) continue;
    const slot = e.slot ? slotText(e.slot, o.timezone) : '';
    switch (e.action) {
      case 'already-ran':
        out.line(`  ${e.job.name}: slot ${slot} already has run ${e.existing!.id} (${e.existing!.status})`);
        break;
      case 'disabled':
        out.line(`  ${e.job.name}: disabled (\`ontime enable ${e.job.name}\` to turn it back on); slot ${slot} not started`);
        break;
      case 'missed':
        out.line(`  ${e.job.name}: missed slot ${slot}: its catch-up window closed at ${formatUtc(e.windowEnds!)}; not replayed, next slot runs as usual`);
        break;
      case 'unscheduled':
        out.detail(`  ${e.job.name}: no schedule (started by hand)`);
        break;
      case 'no-slot':
        out.line(`  ${e.job.name}: its schedule has no slot at or before now`);
        break;
      case 'run':
        out.line(`  ${e.job.name}: ${o.dryRun ? 'would start' : 'starting'} for slot ${slot}${missedNote(e)}`);
        break;
    }
  }

  const outcomes: DueOutcome[] = [];
  if (!o.dryRun) {
    for (const e of due) {
      const slotIso = e.slot!.toISOString();
      if (o.stopRequested()) {
        outcomes.push({ job: e.job.name, slot: slotIso, exitCode: 0, result: 'not-started', runId: null, note: 'stopping: left for the next pass' });
        continue;
      }
      if (!talk) out.line(`  ${e.job.name}: starting for slot ${slotText(e.slot!, o.timezone)}${missedNote(e)}`);
      const args = [...startArgs(e.job), '--trigger', 'run-due', '--scheduled-for', slotIso];
      if (o.passNow) args.push('--now', o.now.toISOString());
      const child = await spawnJob({
        args,
        // The child logs in run-due's format (a --log-format flag is not in the environment).
        env: out.jsonLog ? { ...o.env, ONTIME_LOG_FORMAT: 'json' } : o.env,
        cwd: o.cwd,
        onLine: (stream, line) => out.childLine(stream, e.job.name, line),
        onStart: (c) => o.onChild?.(c),
      });
      o.onChild?.(null);
      const outcome = await describeOutcome(o, e, child.exitCode, child.pid);
      outcomes.push(outcome);
      codes.push(child.exitCode);
      out.line(`  ${e.job.name}: exit ${child.exitCode} (${exitMeaning(child.exitCode)})${outcome.note ? `: ${outcome.note}` : ''}`);
    }
  }

  const exitCode = worstExitCode(codes);
  if (outcomes.length > 0) {
    const parts = outcomes.map((r) => `${r.job} ${r.result === 'not-started' ? 'not started' : `exit ${r.exitCode}`}`);
    out.line(`run-due: started ${outcomes.filter((r) => r.result !== 'not-started').length} of ${due.length} due: ${parts.join(', ')}; exit ${exitCode}`);
  } else if (talk) {
    out.line(o.dryRun ? `run-due: would start ${due.length} job${due.length === 1 ? '' : 's'}` : 'run-due: nothing due');
  }
  return { now: o.now, plan, outcomes, exitCode };
}

function missedNote(e: DueEntry): string {
  if (e.missedEarlier === 0) return '';
  const n = e.missedEarlier >= 1000 ? '1000 or more' : String(e.missedEarlier);
  return ` (catch-up: ${n} earlier slot${e.missedEarlier === 1 ? '' : 's'} missed, not replayed)`;
}

/** How the child's run ended, from its exit code and the slot's job_runs row. */
async function describeOutcome(o: DispatchOptions, e: DueEntry, exitCode: number, pid: number | undefined): Promise<DueOutcome> {
  const base = { job: e.job.name, slot: e.slot!.toISOString(), exitCode };
  let row: JobRun | undefined;
  try {
    row = await runForSlot(o.db, o.dialect, e.job.name, e.slot!);
  } catch {
    row = undefined;
  }
  if (!row) {
    return {
      ...base,
      result: exitCode === 0 ? 'no-row' : 'failed',
      runId: null,
      note: exitCode === 0 ? 'the job recorded no run for this slot' : 'the job stopped before recording a run for this slot',
    };
  }
  const ours = row.pid === pid && (row.host === null || row.host === hostname());
  if (!ours && row.status !== 'skipped') {
    return { ...base, result: 'taken-by-another-run', runId: row.id, note: `another run took this slot: run ${row.id}${row.host ? ` on ${row.host}` : ''} (${row.status})` };
  }
  return { ...base, result: row.status, runId: row.id, note: `run ${row.id} ${row.status}` };
}
