/**
 * Everything `ontime status` shows, gathered once and rendered three ways (text, JSON, HTML):
 * every job with its schedule, switch, next slot and latest run; the last runs of each as a
 * strip; the failed and interrupted runs with their error; held locks; the outbox backlog; and
 * what `check` would say. Built from the same queries as jobs, why, locks and check.
 */
import { hostname } from 'node:os';
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import { checkReport, statusesOf, type CheckReport } from '../dispatch/slot-status.js';
import { formatInZone } from '../dispatch/time-format.js';
import type { JobRun } from '../db/job-status.js';
import { jobs } from '../registry.js';
import type { HeldLocks } from './held-locks.js';

/** Runs shown per job in the strip. */
export const STRIP_LENGTH = 30;
/** Failed or interrupted runs listed with their error, newest first. */
const PROBLEM_RUNS_SHOWN = 20;
/** Endings worth a look, listed with their error line. */
const PROBLEM_STATUSES = new Set(['failed', 'interrupted', 'abandoned', 'partial']);

export interface RunView {
  id: number;
  job: string;
  status: string;
  exitCode: number | null;
  trigger: string;
  host: string | null;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  /** Items the run worked on (from its summary counts); null when it names none. */
  items: number | null;
  /** The first line of the error, when the run recorded one. */
  error: string | null;
}

export interface JobView {
  name: string;
  description: string;
  schedule: string | null;
  /** The zone the schedule is read in (ONTIME_TIMEZONE). */
  timezone: string;
  enabled: boolean;
  nextRun: string | null;
  nextRunLocal: string | null;
  /** The latest slot's state, as `why` names it. */
  state: string;
  /** check's verdict on the job: OK, WARNING, CRITICAL, and why. */
  check: { status: string; reason: string };
  latestRun: RunView | null;
  /** Up to STRIP_LENGTH runs, oldest first. */
  recentRuns: RunView[];
}

export interface StatusModel {
  generatedAt: string;
  host: string;
  timezone: string;
  database: string;
  check: { status: CheckReport['status']; exitCode: number; summary: string };
  jobs: JobView[];
  problemRuns: RunView[];
  locks: HeldLocks;
  outbox: Array<{ kind: string; status: string; count: number }>;
}

export function firstLine(text: string | null): string | null {
  if (!text) return null;
  const line = text.split('\n')[0]!.trim();
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

export function runView(run: JobRun, items: (summary: Record<string, unknown> | null) => number | null): RunView {
  return {
    id: run.id,
    job: run.job,
    status: run.status,
    exitCode: run.exitCode,
    trigger: run.trigger,
    host: run.host,
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt?.toISOString() ?? null,
    durationMs: run.finishedAt ? Math.max(0, run.finishedAt.getTime() - run.startedAt.getTime()) : null,
    items: items(run.summary),
    error: firstLine(errorOf(run)),
  };
}

/**
 * What went wrong: the recorded error, or for a run that ended by itself with an exit code (SMTP
 * unreachable: 69) the problem its summary names.
 */
function errorOf(run: JobRun): string | null {
  if (run.error) return run.error;
  const s = run.summary ?? {};
  const named = [s.stoppedBy, s.mailProblem].find((v) => typeof v === 'string' && v !== '');
  return (named as string | undefined) ?? null;
}

export async function buildStatusModel(db: Knex, config: Config, now: Date): Promise<StatusModel> {
  const dialect = config.database.dialect;
  const tz = config.timezone;
  const [{ latestRuns, runItems }, { heldLocks }, { outboxBacklog }] = await Promise.all([
    import('../db/run-stats.js'),
    import('./held-locks.js'),
    import('../db/outbox-stats.js'),
  ]);
  const statuses = await statusesOf(db, dialect, jobs, now, tz);
  const report = checkReport(statuses, now);
  const verdictOf = new Map(report.jobs.map((v) => [v.job, v]));
  const views: JobView[] = [];
  const problems: RunView[] = [];
  for (const status of statuses) {
    const recent = (await latestRuns(db, status.job.name, STRIP_LENGTH)).map((r) => runView(r, runItems));
    problems.push(...recent.filter((r) => PROBLEM_STATUSES.has(r.status)));
    const verdict = verdictOf.get(status.job.name)!;
    views.push({
      name: status.job.name,
      description: status.job.description,
      schedule: status.job.schedule,
      timezone: tz,
      enabled: status.enabled,
      nextRun: status.next?.toISOString() ?? null,
      nextRunLocal: status.next ? formatInZone(status.next, tz) : null,
      state: status.state.kind,
      check: { status: verdict.label, reason: verdict.reason },
      latestRun: recent[0] ?? null,
      recentRuns: recent.reverse(),
    });
  }
  problems.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.id - a.id);
  return {
    generatedAt: now.toISOString(),
    host: hostname(),
    timezone: tz,
    database: dialect,
    check: { status: report.status, exitCode: report.exitCode, summary: report.headline },
    jobs: views,
    problemRuns: problems.slice(0, PROBLEM_RUNS_SHOWN),
    locks: await heldLocks(db, dialect),
    outbox: await outboxBacklog(db),
  };
}

/** A symbol per run status, so a strip reads without colour (and in a monochrome print). */
export const STATUS_SYMBOL: Record<string, string> = {
  succeeded: '✓',
  partial: '!',
  failed: '✗',
  interrupted: '‖',
  abandoned: '†',
  skipped: '–',
  running: '…',
};

export function statusSymbol(status: string): string {
  return STATUS_SYMBOL[status] ?? '?';
}
