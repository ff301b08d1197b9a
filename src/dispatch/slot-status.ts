/**
 * What happened to a job's latest schedule slot, as `why`, `check` and `jobs` report it, and the
 * Nagios verdict `check` derives from it. Reads job_runs; writes nothing.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { lastFinishedRun, newestRuns, runServingSlot, type JobRun } from '../db/job-status.js';
import { formatUtc } from '../output.js';
import type { JobDefinition } from '../registry.js';
import { catchUpWindow, gracePeriod, jobSlots, type JobSlots } from './slots.js';
import { ownTables } from '../db/schema.js';

export type SlotState =
  /** No schedule: started by hand only (bulk-update-case-status). */
  | { kind: 'unscheduled' }
  /** The expression never fired before now, or only before ontime was set up, and that slot is past its window. */
  | { kind: 'not-yet-due'; slot: Date | null }
  /** Switched off with `ontime disable` and no run served the slot. */
  | { kind: 'disabled'; slot: Date | null }
  /** A real run served the slot (it may still be running). */
  | { kind: 'ran'; slot: Date; run: JobRun }
  /** The slot's run found the job's lock held, or the job disabled. */
  | { kind: 'skipped'; slot: Date; run: JobRun; reason: string }
  /** No run yet, still inside the catch-up window: the next run-due pass starts it. */
  | { kind: 'due'; slot: Date; late: boolean; windowEnds: Date }
  /** No run, and the catch-up window has closed: this slot will not be run. */
  | { kind: 'missed'; slot: Date; windowEnds: Date };

export interface JobStatus {
  job: JobDefinition;
  enabled: boolean;
  state: SlotState;
  next: Date | null;
  /** Grace period of the latest slot, in ms (null without a slot). */
  graceMs: number | null;
  /** The job's most recent finished run, whatever slot it served: it decides check's verdict. */
  lastFinished?: JobRun | null;
  /** Set when the job's newest runs are `lock held` skips in a row. */
  lockSkips?: LockSkips | null;
}

export interface LockSkips {
  /** How many of the newest runs in a row were skipped because the lock was held. */
  count: number;
  /** Who held it, as the newest skipped row names it. */
  holder: string;
  /** The holder's run now: running within its time limit, past it, or not running at all. */
  holderState: 'running' | 'stuck' | 'gone';
}

/** Lock-held skips in a row from which check warns: a leaked or foreign lock must not stay green. */
export const LOCK_SKIPS_WARN = 3;

export interface StatusInput {
  now: Date;
  timezone: string;
  enabled: boolean;
  /** When ontime's tables were created; slots before it are not "missed". */
  installedAt: Date | null;
}

export function slotsOf(def: JobDefinition, timezone: string): JobSlots | null {
  return def.schedule ? jobSlots(def.schedule, timezone) : null;
}

/** The lock holder or reason a `skipped` row records, in words. */
export function skipReason(run: JobRun): string {
  const s = run.summary ?? {};
  const pick = (...keys: string[]) => keys.map((k) => s[k]).find((v) => typeof v === 'string' && v !== '') as string | undefined;
  const holder = pick('holder', 'heldBy', 'lockHolder', 'lock_holder');
  const reason = pick('reason', 'note', 'message', 'text');
  if (holder) return `the job's lock was held by ${holder}${reason && reason !== 'lock held' && !reason.includes(holder) ? ` (${reason})` : ''}`;
  if (reason === 'disabled') return 'the job was disabled';
  if (reason) return reason;
  if (s.disabled === true) return 'the job was disabled';
  return run.error ?? 'no reason recorded';
}

export async function jobStatus(db: Knex, dialect: Dialect, def: JobDefinition, input: StatusInput): Promise<JobStatus> {
  const slots = slotsOf(def, input.timezone);
  if (!slots) return { job: def, enabled: input.enabled, state: { kind: 'unscheduled' }, next: null, graceMs: null };
  const next = slots.next(input.now);
  const slot = slots.latest(input.now);
  if (!slot) {
    return { job: def, enabled: input.enabled, state: { kind: input.enabled ? 'not-yet-due' : 'disabled', slot: null }, next, graceMs: null };
  }
  const graceMs = gracePeriod(slots, slot);
  const base = {
    job: def, enabled: input.enabled, next, graceMs,
    lastFinished: (await lastFinishedRun(db, dialect, def.name, input.now)) ?? null,
    lockSkips: await lockSkipsOf(db, dialect, def, input.now),
  };
  const run = await runServingSlot(db, dialect, def.name, slot, input.now);
  if (run && run.status === 'skipped') return { ...base, state: { kind: 'skipped', slot, run, reason: skipReason(run) } };
  if (run) return { ...base, state: { kind: 'ran', slot, run } };
  if (!input.enabled) return { ...base, state: { kind: 'disabled', slot } };
  const windowEnds = new Date(slot.getTime() + catchUpWindow(slots, slot));
  const age = input.now.getTime() - slot.getTime();
  if (input.now.getTime() <= windowEnds.getTime()) {
    return { ...base, state: { kind: 'due', slot, late: age > graceMs, windowEnds } };
  }
  if (input.installedAt && slot.getTime() < input.installedAt.getTime()) return { ...base, state: { kind: 'not-yet-due', slot } };
  return { ...base, state: { kind: 'missed', slot, windowEnds } };
}

/** The newest runs of the job that are lock-held skips in a row, and how the holder is doing now. */
async function lockSkipsOf(db: Knex, dialect: Dialect, def: JobDefinition, now: Date): Promise<LockSkips | null> {
  const runs = await newestRuns(db, dialect, def.name, now, 50);
  const isLockSkip = (r: JobRun) => r.status === 'skipped' && r.summary?.reason === 'lock held';
  let count = 0;
  while (count < runs.length && isLockSkip(runs[count]!)) count += 1;
  if (count === 0) return null;
  const newest = runs[0]!;
  const holderRunId = Number(newest.summary?.holderRunId);
  // The holder's row if the skip recorded it, else any run of the job still marked running.
  const holder = Number.isInteger(holderRunId) && holderRunId > 0
    ? await db(ownTables(db).jobRuns).where({ id: holderRunId }).first('status', 'started_at')
    : await db(ownTables(db).jobRuns).where({ job: def.name, status: 'running' }).orderBy('id', 'desc').first('status', 'started_at');
  let holderState: LockSkips['holderState'] = 'gone';
  if (holder && holder.status === 'running') {
    const { fromDbInstant } = await import('../db/time.js');
    const since = fromDbInstant(holder.started_at);
    holderState = since && now.getTime() - since.getTime() > def.timeoutSeconds * 1000 ? 'stuck' : 'running';
  }
  return { count, holder: String(newest.summary?.holder ?? 'unknown'), holderState };
}

// ----------------------------------------------------------------------------------------------
// check's verdict

export type Verdict = 'ok' | 'warning' | 'critical';

export const NAGIOS_CODE: Record<Verdict, number> = { ok: 0, warning: 1, critical: 2 };

export interface JobVerdict {
  verdict: Verdict;
  /** A few words for the Nagios status line, e.g. "failed (exit 70)". */
  short: string;
  /** The detail line, e.g. "failed (exit 70) at 2026-11-23 02:00:04 UTC: <error>". */
  reason: string;
}

/**
 * check's verdict on a job: the worst of what its latest slot says (late, missed, running past
 * its limit), what its most recent finished run says (a failure after a success stays CRITICAL
 * until a later run succeeds, whichever slot or person started them) and how long it has been
 * skipped behind a held lock.
 */
export function verdictOf(status: JobStatus, now: Date): JobVerdict {
  const s = status.state;
  const slotVerdict = slotStateVerdict(status, now);
  if (s.kind === 'unscheduled' || s.kind === 'disabled') return slotVerdict;
  const found = [slotVerdict];
  const last = status.lastFinished;
  // A finished slot run is judged in slotStateVerdict (against the newest finished run).
  if (last && !(s.kind === 'ran' && s.run.status !== 'running')) {
    const judged = runVerdict(last, `run ${last.id}, ${startedBy(last)} ${formatUtc(last.startedAt)}`);
    if (judged.verdict !== 'ok') found.push({ ...judged, reason: `${judged.reason}; latest slot: ${slotVerdict.reason}` });
  }
  const skips = status.lockSkips;
  if (skips && skips.count >= LOCK_SKIPS_WARN) {
    const held = `skipped ${skips.count} times in a row: the lock is held by ${skips.holder}`;
    if (skips.holderState === 'running') found.push({ verdict: 'warning', short: 'lock held', reason: `${held}, still running` });
    else {
      const why = skips.holderState === 'gone' ? 'which has no running run (a leaked or foreign lock)' : `running longer than its ${status.job.timeoutSeconds / 60} min time limit`;
      found.push({ verdict: 'critical', short: 'lock held', reason: `${held}, ${why}; see \`ontime locks\`` });
    }
  }
  return found.reduce((worst, v) => (RANK[v.verdict] > RANK[worst.verdict] ? v : worst));
}

export const RANK: Record<Verdict, number> = { ok: 0, warning: 1, critical: 2 };

function startedBy(r: JobRun): string {
  return r.trigger === 'run-due' ? 'started by run-due' : 'started directly';
}

/** A finished run's verdict: succeeded OK; partial and interrupted WARNING; failed, abandoned CRITICAL. */
function runVerdict(r: JobRun, where: string): JobVerdict {
  const code = r.exitCode === null ? '' : ` (exit ${r.exitCode})`;
  const detail = `${r.status}${code} (${where})${r.error ? `: ${firstLine(r.error)}` : ''}`;
  switch (r.status) {
    case 'succeeded':
      return { verdict: 'ok', short: 'succeeded', reason: `succeeded (${where}, finished ${formatUtc(r.finishedAt ?? r.startedAt)})` };
    case 'partial':
    case 'interrupted':
      return { verdict: 'warning', short: `${r.status}${code}`, reason: detail };
    default:
      return { verdict: 'critical', short: `${r.status}${code}`, reason: detail };
  }
}

function slotStateVerdict(status: JobStatus, now: Date): JobVerdict {
  const s = status.state;
  const v = (verdict: Verdict, short: string, reason = short): JobVerdict => ({ verdict, short, reason });
  switch (s.kind) {
    case 'unscheduled':
      return v('ok', 'no schedule', 'no schedule (started by hand)');
    case 'disabled':
      return v('ok', 'disabled', `disabled${s.slot ? `; slot ${formatUtc(s.slot)} not run` : ''}`);
    case 'not-yet-due':
      return v('ok', 'not yet due', 'not yet due: no slot since ontime was set up');
    case 'skipped':
      return v('ok', 'skipped', `slot ${formatUtc(s.slot)} skipped: ${s.reason}`);
    case 'due':
      return s.late
        ? v('warning', 'late', `late: the slot of ${formatUtc(s.slot)} has not started (grace ${Math.round((status.graceMs ?? 0) / 60_000)} min)`)
        : v('ok', 'due', `due: slot ${formatUtc(s.slot)}, within its grace period`);
    case 'missed':
      return v('critical', 'never ran', `never ran: the slot of ${formatUtc(s.slot)} was missed (catch-up window closed ${formatUtc(s.windowEnds)})`);
    case 'ran': {
      const r = s.run;
      const at = `slot ${formatUtc(s.slot)}, run ${r.id}`;
      if (r.status === 'running') {
        const limit = status.job.timeoutSeconds * 1000 + (status.graceMs ?? 0);
        return now.getTime() - r.startedAt.getTime() > limit
          ? v('warning', 'still running', `still running since ${formatUtc(r.startedAt)}, past its ${status.job.timeoutSeconds / 60} min time limit (${at})`)
          : v('ok', 'running', `running since ${formatUtc(r.startedAt)} (${at})`);
      }
      // A later finished run (by hand, or another host) tells the job's current state.
      const last = status.lastFinished;
      if (!last || last.id === r.id) return runVerdict(r, at);
      const code = r.exitCode === null ? '' : `, exit ${r.exitCode}`;
      return runVerdict(last, `run ${last.id}, ${startedBy(last)} ${formatUtc(last.startedAt)}, after the ${at}: ${r.status}${code}`);
    }
  }
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

// ----------------------------------------------------------------------------------------------
// Loading every job's status at once (jobs, check)

export async function jobEnabled(db: Knex, name: string): Promise<boolean> {
  const { isJobEnabled } = await import('../db/job-settings.js');
  return isJobEnabled(db, name);
}

export async function statusesOf(db: Knex, dialect: Dialect, defs: readonly JobDefinition[], now: Date, timezone: string): Promise<JobStatus[]> {
  const { installedAt } = await import('../db/job-status.js');
  const setupAt = await installedAt(db);
  const result: JobStatus[] = [];
  for (const def of defs) {
    const enabled = await jobEnabled(db, def.name);
    result.push(await jobStatus(db, dialect, def, { now, timezone, enabled, installedAt: setupAt }));
  }
  return result;
}

// ----------------------------------------------------------------------------------------------
// What `check` says about all jobs at once (check, status)

const VERDICT_LABEL: Record<Verdict, string> = { ok: 'OK', warning: 'WARNING', critical: 'CRITICAL' };
const VERDICT_RANK: Record<Verdict, number> = { ok: 0, warning: 1, critical: 2 };

export interface CheckReport {
  status: 'OK' | 'WARNING' | 'CRITICAL';
  exitCode: number;
  /** The Nagios status line, e.g. `ONTIME CRITICAL - cleanup-survey-progress failed (exit 70)`. */
  headline: string;
  /** Problems first (worst first), then the jobs that are fine. */
  jobs: Array<{ job: string; enabled: boolean; state: SlotState['kind']; label: string } & JobVerdict>;
}

export function checkReport(statuses: readonly JobStatus[], now: Date): CheckReport {
  const verdicts = statuses.map((s) => ({ job: s.job.name, enabled: s.enabled, state: s.state.kind, ...verdictOf(s, now) }));
  const worst = verdicts.reduce<Verdict>((w, v) => (VERDICT_RANK[v.verdict] > VERDICT_RANK[w] ? v.verdict : w), 'ok');
  const problems = verdicts.filter((v) => v.verdict !== 'ok').sort((a, b) => VERDICT_RANK[b.verdict] - VERDICT_RANK[a.verdict]);
  const scheduled = verdicts.filter((v) => v.state !== 'unscheduled' && v.state !== 'disabled').length;
  const headline =
    problems.length === 0
      ? `ONTIME OK - ${scheduled} scheduled job${scheduled === 1 ? '' : 's'} on time and green`
      : `ONTIME ${VERDICT_LABEL[worst]} - ${problems.map((p) => `${p.job} ${p.short}`).join(', ')}`;
  const ordered = [...problems, ...verdicts.filter((x) => x.verdict === 'ok')].map((v) => ({ ...v, label: VERDICT_LABEL[v.verdict] }));
  return { status: VERDICT_LABEL[worst] as CheckReport['status'], exitCode: NAGIOS_CODE[worst], headline, jobs: ordered };
}
