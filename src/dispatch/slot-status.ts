/**
 * What happened to a job's latest schedule slot, as `why`, `check` and `jobs` report it, and the
 * Nagios verdict `check` derives from it. Reads job_runs; writes nothing.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { runServingSlot, type JobRun } from '../db/job-status.js';
import { formatUtc } from '../output.js';
import type { JobDefinition } from '../registry.js';
import { catchUpWindow, gracePeriod, jobSlots, type JobSlots } from './slots.js';

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
}

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
  const base = { job: def, enabled: input.enabled, next, graceMs };
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

export function verdictOf(status: JobStatus, now: Date): JobVerdict {
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
      const code = r.exitCode === null ? '' : ` (exit ${r.exitCode})`;
      const at = `slot ${formatUtc(s.slot)}, run ${r.id}`;
      switch (r.status) {
        case 'succeeded':
          return v('ok', 'succeeded', `succeeded (${at}, finished ${formatUtc(r.finishedAt ?? r.startedAt)})`);
        case 'running': {
          const limit = status.job.timeoutSeconds * 1000 + (status.graceMs ?? 0);
          return now.getTime() - r.startedAt.getTime() > limit
            ? v('warning', 'still running', `still running since ${formatUtc(r.startedAt)}, past its ${status.job.timeoutSeconds / 60} min time limit (${at})`)
            : v('ok', 'running', `running since ${formatUtc(r.startedAt)} (${at})`);
        }
        case 'partial':
        case 'interrupted':
          return v('warning', `${r.status}${code}`, `${r.status}${code} (${at})${r.error ? `: ${firstLine(r.error)}` : ''}`);
        default:
          return v('critical', `${r.status}${code}`, `${r.status}${code} (${at})${r.error ? `: ${firstLine(r.error)}` : ''}`);
      }
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
