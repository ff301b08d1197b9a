/**
 * `ontime why <job> [--now] [--json]`: what happened to the job's latest schedule slot (ran and
 * how it ended, skipped because of whom, disabled, due, missed, not yet due, no schedule) and
 * when its next slot is.
 */
import { jobsWithSchedules } from '../db/job-settings.js';
import { installedAt, jobRunJson, lastRun, type JobRun } from '../db/job-status.js';
import { jobEnabled, jobStatus, verdictOf, type JobStatus } from '../dispatch/slot-status.js';
import { formatInZone } from '../dispatch/time-format.js';
import { formatUtc } from '../output.js';
import type { AdminContext } from '../runner/admin.js';

export interface WhyOptions {
  args: string[];
  now?: Date;
  json?: boolean;
  verbose?: boolean;
}

export default async function why({ out, config, db, job }: AdminContext, options: WhyOptions): Promise<number> {
  // One in, one out: the job with the schedule `ontime schedule` stored for it, if any.
  const def = (await jobsWithSchedules(db, [job!]))[0]!;
  const now = options.now ?? new Date();
  const tz = config.timezone;
  const dialect = config.database.dialect;
  const enabled = await jobEnabled(db, def.name);
  const status = await jobStatus(db, dialect, def, { now, timezone: tz, enabled, installedAt: await installedAt(db) });
  const last = await lastRun(db, dialect, def.name);
  const verdict = verdictOf(status, now);
  const decisive = status.lastFinished;

  if (options.json) {
    const s = status.state;
    out.emitJson({
      job: def.name,
      now: now.toISOString(),
      timezone: tz,
      schedule: def.schedule,
      scheduleOverridden: def.scheduleOverridden,
      enabled,
      state: s.kind,
      slot: 'slot' in s && s.slot ? s.slot.toISOString() : null,
      run: 'run' in s ? jobRunJson(s.run) : null,
      reason: s.kind === 'skipped' ? s.reason : null,
      late: s.kind === 'due' ? s.late : null,
      catchUpUntil: s.kind === 'due' || s.kind === 'missed' ? s.windowEnds.toISOString() : null,
      nextSlot: status.next?.toISOString() ?? null,
      lastRun: last ? jobRunJson(last) : null,
      lastFinishedRun: decisive ? jobRunJson(decisive) : null,
      check: { verdict: verdict.verdict, reason: verdict.reason },
      explanation: explain(status, now, tz),
    });
    return 0;
  }

  const when = (d: Date) => (tz === 'UTC' ? formatUtc(d) : `${formatUtc(d)} (${formatInZone(d, tz)})`);
  out.line(out.style.bold(def.name) + `: ${def.schedule ? `schedule ${def.schedule}${def.scheduleOverridden ? ` (set with ontime schedule; default ${def.defaultSchedule})` : ''}, read in ${tz}` : 'no schedule'}; ${enabled ? 'enabled' : 'disabled'}`);
  const s = status.state;
  if ('slot' in s && s.slot) out.line(`Latest slot: ${when(s.slot)}`);
  out.line(`  ${explain(status, now, tz)}`);
  if (s.kind === 'ran' && s.run.error) out.line(`  error: ${s.run.error.split('\n')[0]}`);
  if (decisive && !('run' in s && s.run.id === decisive.id)) out.line(`Most recent finished run (check judges by it): ${describeRun(decisive)}`);
  if (last && !('run' in s && s.run.id === last.id) && last.id !== decisive?.id) out.line(`Last run of any kind: ${describeRun(last)}`);
  out.line(`check says: ${verdict.verdict.toUpperCase()}, ${verdict.reason}`);
  if (status.next) out.line(`Next slot: ${when(status.next)}, in ${duration(status.next.getTime() - now.getTime())}`);
  return 0;
}

function describeRun(r: JobRun): string {
  const by = `${r.trigger === 'run-due' ? 'run-due' : 'a direct start'}${r.host ? ` on ${r.host}` : ''}${r.pid ? ` (pid ${r.pid})` : ''}`;
  const end = r.finishedAt ? `, finished ${formatUtc(r.finishedAt)}` : '';
  const code = r.exitCode === null ? '' : `, exit ${r.exitCode}`;
  return `run ${r.id} by ${by}, started ${formatUtc(r.startedAt)}${end}: ${r.status}${code}`;
}

/** One sentence for the slot's state, the same under --json. */
function explain(status: JobStatus, now: Date, tz: string): string {
  const s = status.state;
  const name = status.job.name;
  switch (s.kind) {
    case 'unscheduled':
      return `No schedule: ${name} is started by hand only, so run-due never starts it.`;
    case 'not-yet-due':
      return s.slot
        ? `Not yet due: its latest slot (${formatUtc(s.slot)}) came before ontime was set up, so nothing was expected; the next slot is its first.`
        : `Not yet due: its schedule has no slot at or before now (read in ${tz}).`;
    case 'disabled':
      return `Disabled: no run served this slot because the job is switched off (\`ontime enable ${name}\` turns it back on).`;
    case 'ran':
      return s.run.status === 'running'
        ? `Running: ${describeRun(s.run)}.`
        : `Ran: ${describeRun(s.run)}.`;
    case 'skipped':
      return `Skipped: run ${s.run.id} at ${formatUtc(s.run.startedAt)} did nothing because ${s.reason}.`;
    case 'due':
      return s.late
        ? `Late: no run yet, ${duration(now.getTime() - s.slot.getTime())} after the slot (grace ${duration(status.graceMs ?? 0)}). Is run-due in the crontab, or \`ontime work\` running? It will still be started until ${formatUtc(s.windowEnds)}.`
        : `Due: no run yet; the next run-due pass starts it (it may still start until ${formatUtc(s.windowEnds)}).`;
    case 'missed':
      return `Missed: no run served this slot and its catch-up window closed at ${formatUtc(s.windowEnds)}; it will not be replayed. Run \`ontime ${name}\` by hand if the work cannot wait for the next slot.`;
  }
}

function duration(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`;
  return `${Math.floor(hours / 24)} d${hours % 24 ? ` ${hours % 24} h` : ''}`;
}
