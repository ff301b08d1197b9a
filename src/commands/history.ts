/** `ontime history [job] [--limit n] [--json]`: recent job_runs rows, newest first. */
import type { ChalkInstance } from 'chalk';
import { formatDuration, formatUtc } from '../output.js';
import { fromDbInstant } from '../db/time.js';
import type { AdminContext } from '../runner/admin.js';
import type { JobRunRow } from '../db/job-runs.js';
import { UsageError } from '../errors.js';
import { findJob, resolveJob } from '../registry.js';
import { ownTables } from '../db/schema.js';

interface HistoryOptions {
  args: string[];
  limit?: number;
  status?: string;
  json?: boolean;
  verbose?: boolean;
}

const DEFAULT_LIMIT = 20;
const RUN_STATUSES = ['running', 'succeeded', 'partial', 'failed', 'skipped', 'interrupted', 'abandoned'];
const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/**
 * A job of the registry, or a name no entry has that still has runs: an `ontime exec --name …`
 * job. A name with neither is the usual unknown-job usage error.
 */
async function jobNamed(db: AdminContext['db'], name: string | undefined): Promise<{ name: string } | undefined> {
  if (name === undefined) return undefined;
  const known = findJob(name);
  if (known) return known;
  if (KEBAB.test(name) && (await db(ownTables(db).jobRuns).where({ job: name }).first('id'))) return { name };
  return resolveJob(name);
}

export default async function history({ session, db }: AdminContext, options: HistoryOptions): Promise<number> {
  const job = await jobNamed(db, options.args[0]);
  const status = options.status?.trim().toLowerCase();
  if (status !== undefined && !RUN_STATUSES.includes(status)) {
    throw new UsageError(`--status must be one of ${RUN_STATUSES.join(', ')}, not "${options.status}"`);
  }
  const { recentRuns } = await import('../db/job-runs.js');
  const rows = await recentRuns(db, { job: job?.name, status, limit: options.limit ?? DEFAULT_LIMIT });
  const runs = rows.map(toRun);
  if (options.json) {
    session.out.emitJson({ job: job?.name ?? null, status: status ?? null, runs });
    return 0;
  }
  if (runs.length === 0) {
    const which = status ? ` ${status}` : '';
    session.out.line(job ? `No${which} runs of ${job.name} recorded yet.` : `No${which} runs recorded yet.`);
    return 0;
  }
  const style = session.out.style;
  const header = ['ID', 'JOB', 'TRIGGER', 'STARTED (UTC)', 'DURATION', 'STATUS', 'EXIT', 'HOST', 'SUMMARY'];
  const table = runs.map((r) => [
    String(r.id),
    r.job,
    r.trigger,
    r.startedAt ? formatUtc(new Date(r.startedAt)).replace(' UTC', '') : '',
    r.durationMs === null ? (r.status === 'running' ? 'running' : '') : formatDuration(r.durationMs),
    r.status,
    r.exitCode === null ? '' : String(r.exitCode),
    r.host ? `${r.host}:${r.pid ?? ''}` : '',
    shortSummary(r),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const pad = (cells: string[], colour?: (i: number, text: string) => string) =>
    cells
      .map((c, i) => {
        const text = i === cells.length - 1 ? c : c.padEnd(widths[i]!);
        return colour ? colour(i, text) : text;
      })
      .join('  ')
      .trimEnd();
  session.out.line(style.bold(pad(header)));
  for (const [i, row] of table.entries()) {
    session.out.line(pad(row, (col, text) => (col === 5 ? statusColour(style, runs[i]!.status)(text) : text)));
  }
  if (runs.length === (options.limit ?? DEFAULT_LIMIT)) {
    session.out.line(style.dim(`(newest ${runs.length}; --limit n for more)`));
  }
  return 0;
}

interface Run {
  id: number;
  job: string;
  trigger: string;
  scheduledFor: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  status: string;
  exitCode: number | null;
  host: string | null;
  pid: number | null;
  summary: Record<string, unknown>;
  error: string | null;
}

function toRun(row: JobRunRow): Run {
  const started = fromDbInstant(row.started_at);
  const finished = fromDbInstant(row.finished_at);
  let summary: Record<string, unknown> = {};
  try {
    summary = row.summary ? (JSON.parse(row.summary) as Record<string, unknown>) : {};
  } catch {
    summary = { unreadable: row.summary };
  }
  return {
    id: Number(row.id),
    job: row.job,
    trigger: row.trigger,
    scheduledFor: fromDbInstant(row.scheduled_for)?.toISOString() ?? null,
    startedAt: started?.toISOString() ?? null,
    finishedAt: finished?.toISOString() ?? null,
    durationMs: started && finished ? Math.max(0, finished.getTime() - started.getTime()) : null,
    status: row.status,
    exitCode: row.exit_code === null ? null : Number(row.exit_code),
    host: row.host,
    pid: row.pid === null ? null : Number(row.pid),
    summary,
    error: row.error,
  };
}


const MAX_SUMMARY = 70;

function shortSummary(r: Run): string {
  let text: string;
  if (r.status === 'skipped') {
    const reason = String(r.summary.reason ?? 'skipped');
    text = r.summary.holder ? `${reason}: ${String(r.summary.holder)}` : reason;
  } else if (r.error) {
    text = r.error;
  } else {
    text = Object.entries(r.summary)
      .filter(([, v]) => (typeof v === 'number' && v !== 0) || v === true)
      .map(([k, v]) => (v === true ? k : `${k}=${v}`))
      .join(' ');
  }
  text = text.replace(/\s+/g, ' ');
  return text.length > MAX_SUMMARY ? `${text.slice(0, MAX_SUMMARY - 1)}…` : text;
}

function statusColour(style: ChalkInstance, status: string): (s: string) => string {
  switch (status) {
    case 'succeeded':
      return style.green;
    case 'partial':
    case 'interrupted':
      return style.yellow;
    case 'failed':
    case 'abandoned':
      return style.red;
    case 'running':
      return style.cyan;
    default:
      return style.dim;
  }
}
