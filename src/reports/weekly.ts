/**
 * The weekly report's numbers for one ISO week (Monday 00:00 to Monday 00:00 in ONTIME_TIMEZONE):
 * per job the runs by ending, items, median and longest duration, late and missed schedule slots;
 * the governance job's warnings, deletions and legal-hold skips (from audit_log); the outbox's
 * messages sent and failed. Reads only.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { catchUpWindow, gracePeriod, jobSlots } from '../dispatch/slots.js';
import { governanceAuditRows } from '../db/governance-audit.js';
import type { JobRun } from '../db/job-status.js';
import { outboxCountsBetween } from '../db/outbox-stats.js';
import { runItems, runsBetween } from '../db/run-stats.js';
import type { JobDefinition } from '../registry.js';
import { slotsBetween } from '../schedule/cron.js';
import { countAuditRow, emptyCounts, type GovernanceCounts } from './governance.js';
import type { IsoWeek } from './zone-days.js';

export const RUN_ENDINGS = ['succeeded', 'partial', 'failed', 'skipped', 'interrupted', 'abandoned'] as const;

export interface WeeklyJobLine {
  job: string;
  runs: number;
  /** Runs per ending (RUN_ENDINGS, plus `running` for a run not finished yet). */
  byStatus: Record<string, number>;
  items: number;
  medianMs: number | null;
  longestMs: number | null;
  /** Slots served by a run that started after the grace period. */
  late: number;
  /** Slots with no run at all once their catch-up window closed (null: no schedule, or disabled). */
  missed: number | null;
}

export interface WeeklyReport {
  week: string;
  timezone: string;
  start: string;
  end: string;
  jobs: WeeklyJobLine[];
  governance: GovernanceCounts;
  outbox: { sent: number; failed: number };
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The longest catch-up window (24 h): runs this long after the week still serve its last slots. */
const WINDOW_MARGIN_MS = 24 * 3_600_000;

interface SlotInput {
  def: JobDefinition;
  runs: JobRun[];
  week: IsoWeek;
  timezone: string;
  now: Date;
  installedAt: Date | null;
}

/** Late and missed slots of the week, judged as `why` and `check` judge one slot. */
function slotTally({ def, runs, week, timezone, now, installedAt }: SlotInput): { late: number; missed: number } {
  const slots = jobSlots(def.schedule!, timezone);
  let late = 0;
  let missed = 0;
  for (const slot of slotsBetween(def.schedule!, new Date(week.start.getTime() - 1), new Date(week.end.getTime() - 1), timezone)) {
    const windowEnds = slot.getTime() + catchUpWindow(slots, slot);
    const serving = runs.filter(
      (r) => r.scheduledFor?.getTime() === slot.getTime() || (r.startedAt.getTime() >= slot.getTime() && r.startedAt.getTime() <= windowEnds),
    );
    const run = serving.find((r) => r.status !== 'skipped') ?? serving[0];
    if (run) {
      if (run.startedAt.getTime() - slot.getTime() > gracePeriod(slots, slot)) late += 1;
    } else if (windowEnds < now.getTime() && !(installedAt && slot.getTime() < installedAt.getTime())) {
      missed += 1;
    }
  }
  return { late, missed };
}

export async function weeklyReport(
  db: Knex,
  dialect: Dialect,
  defs: readonly JobDefinition[],
  week: IsoWeek,
  timezone: string,
  now: Date,
): Promise<WeeklyReport> {
  const { installedAt } = await import('../db/job-status.js');
  const { isJobEnabled } = await import('../db/job-settings.js');
  const setupAt = await installedAt(db);
  const all = await runsBetween(db, dialect, week.start, new Date(week.end.getTime() + WINDOW_MARGIN_MS));
  const names = [...defs.map((d) => d.name), ...new Set(all.map((r) => r.job).filter((n) => !defs.some((d) => d.name === n)))];
  const lines: WeeklyJobLine[] = [];
  for (const name of names) {
    const runs = all.filter((r) => r.job === name);
    const inWeek = runs.filter((r) => r.startedAt.getTime() < week.end.getTime());
    const byStatus: Record<string, number> = Object.fromEntries(RUN_ENDINGS.map((s) => [s, 0]));
    for (const r of inWeek) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    const durations = inWeek.filter((r) => r.finishedAt && r.status !== 'skipped').map((r) => r.finishedAt!.getTime() - r.startedAt.getTime());
    const def = defs.find((d) => d.name === name);
    const enabled = def ? await isJobEnabled(db, name).catch(() => true) : false;
    const slots = def?.schedule && enabled ? slotTally({ def, runs, week, timezone, now, installedAt: setupAt }) : null;
    lines.push({
      job: name,
      runs: inWeek.length,
      byStatus,
      items: inWeek.reduce((n, r) => n + (runItems(r.summary) ?? 0), 0),
      medianMs: median(durations),
      longestMs: durations.length > 0 ? Math.max(...durations) : null,
      late: slots?.late ?? 0,
      missed: slots ? slots.missed : null,
    });
  }
  const governance = emptyCounts();
  for (const row of await governanceAuditRows(db, dialect, week.start, week.end)) countAuditRow(governance, row);
  return {
    week: week.label,
    timezone,
    start: week.start.toISOString(),
    end: week.end.toISOString(),
    jobs: lines,
    governance,
    outbox: await outboxCountsBetween(db, dialect, week.start, week.end),
  };
}
