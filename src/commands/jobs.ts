/** `ontime jobs [--json]`: every job with its schedule, whether it is enabled, its next slot and its last run. */
import { jobRunJson, lastRun, type JobRun } from '../db/job-status.js';
import { statusesOf } from '../dispatch/slot-status.js';
import { formatInZone } from '../dispatch/time-format.js';
import type { RunRate } from '../db/run-stats.js';
import { DAY_MS } from '../db/time.js';
import { formatUtc, plural } from '../output.js';
import { jobsWithSchedules } from '../db/job-settings.js';
import type { AdminContext } from '../runner/admin.js';

export interface JobsOptions {
  json?: boolean;
  verbose?: boolean;
  now?: Date;
}

/** Run counts cover this many days up to now. */
const RATE_DAYS = 30;

function rateText(r: RunRate): string {
  if (r.runs === 0) return 'no runs';
  return `${plural(r.runs, 'run')}, ${plural(r.failures, 'failure')}, ${Math.floor((r.successRate ?? 0) * 100)}% ok`;
}

export default async function listJobs({ out, config, db }: AdminContext, options: JobsOptions): Promise<number> {
  const now = options.now ?? new Date();
  const tz = config.timezone;
  const dialect = config.database.dialect;
  const scheduled = await jobsWithSchedules(db);
  const statuses = await statusesOf(db, dialect, scheduled, now, tz);
  const overridden = new Set(scheduled.filter((j) => j.scheduleOverridden).map((j) => j.name));
  const rows: Array<{ status: (typeof statuses)[number]; last: JobRun | undefined }> = [];
  for (const status of statuses) rows.push({ status, last: await lastRun(db, dialect, status.job.name) });
  const { runCountsSince, runRates } = await import('../db/run-stats.js');
  const rates = runRates(await runCountsSince(db, dialect, new Date(now.getTime() - RATE_DAYS * DAY_MS)));
  const rateOf = (job: string) => rates.get(job) ?? { runs: 0, failures: 0, successRate: null };

  if (options.json) {
    out.emitJson({
      now: now.toISOString(),
      timezone: tz,
      jobs: rows.map(({ status, last }) => ({
        job: status.job.name,
        alias: status.job.alias,
        description: status.job.description,
        schedule: status.job.schedule,
        scheduleOverridden: overridden.has(status.job.name),
        // Declared in the jobs file: started as `ontime run <job>`.
        ...(status.job.external ? { external: true, startedAs: `ontime ${(status.job.runArgs ?? []).join(' ')}` } : {}),
        enabled: status.enabled,
        nextRun: status.next?.toISOString() ?? null,
        nextRunLocal: status.next ? formatInZone(status.next, tz) : null,
        state: status.state.kind,
        lastRun: last ? jobRunJson(last) : null,
        last30Days: rateOf(status.job.name),
      })),
    });
    return 0;
  }

  const showLocal = tz !== 'UTC';
  const header = ['JOB', 'SCHEDULE', 'ENABLED', 'NEXT RUN (UTC)', ...(showLocal ? [`NEXT RUN (${tz})`] : []), 'LAST RUN', `LAST ${RATE_DAYS} DAYS`];
  const table = rows.map(({ status, last }) => [
    status.job.name,
    status.job.schedule === null ? '(by hand)' : `${status.job.schedule}${overridden.has(status.job.name) ? ' *' : ''}`,
    status.enabled ? 'yes' : 'no',
    status.next ? formatUtc(status.next) : '-',
    ...(showLocal ? [status.next ? formatInZone(status.next, tz) : '-'] : []),
    last ? `${formatUtc(last.startedAt)} ${last.status}${last.exitCode === null ? '' : ` (exit ${last.exitCode})`}` : 'never',
    rateText(rateOf(status.job.name)),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const render = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  out.line(out.style.bold(render(header)));
  for (const r of table) out.line(render(r));
  out.line('');
  if (overridden.size > 0) out.line('* schedule set with `ontime schedule` (`ontime schedule <job> --reset` restores the default)');
  if (rows.some((r) => r.status.job.external)) out.line('Jobs of the jobs file start with `ontime run <job>` (docs/external-jobs.md).');
  out.line(`Schedules are read in ${tz}${tz === 'UTC' ? ' (set ONTIME_TIMEZONE to change)' : ''}. \`ontime why <job>\` explains a job's latest slot.`);
  return 0;
}
