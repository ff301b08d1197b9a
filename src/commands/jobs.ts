/** `ontime jobs [--json]`: every job with its schedule, whether it is enabled, its next slot and its last run. */
import { jobRunJson, lastRun, type JobRun } from '../db/job-status.js';
import { statusesOf } from '../dispatch/slot-status.js';
import { formatInZone } from '../dispatch/time-format.js';
import { formatUtc } from '../output.js';
import { jobsWithSchedules } from '../db/job-settings.js';
import type { AdminContext } from '../runner/admin.js';

export interface JobsOptions {
  json?: boolean;
  verbose?: boolean;
  now?: Date;
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
      })),
    });
    return 0;
  }

  const showLocal = tz !== 'UTC';
  const header = ['JOB', 'SCHEDULE', 'ENABLED', 'NEXT RUN (UTC)', ...(showLocal ? [`NEXT RUN (${tz})`] : []), 'LAST RUN'];
  const table = rows.map(({ status, last }) => [
    status.job.name,
    status.job.schedule === null ? '(by hand)' : `${status.job.schedule}${overridden.has(status.job.name) ? ' *' : ''}`,
    status.enabled ? 'yes' : 'no',
    status.next ? formatUtc(status.next) : '-',
    ...(showLocal ? [status.next ? formatInZone(status.next, tz) : '-'] : []),
    last ? `${formatUtc(last.startedAt)} ${last.status}${last.exitCode === null ? '' : ` (exit ${last.exitCode})`}` : 'never',
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
