/** The weekly report as the mail's plain-text part (also what --dry-run prints) and its HTML part. */
import { formatDuration } from '../output.js';
import { formatInZone } from '../dispatch/time-format.js';
import { escapeHtml as e, htmlPage, htmlTable } from '../status/html.js';
import { RUN_ENDINGS, type WeeklyJobLine, type WeeklyReport } from './weekly.js';

const HEAD = ['Job', 'Runs', ...RUN_ENDINGS.map((s) => s[0]!.toUpperCase() + s.slice(1)), 'Items', 'Median', 'Longest', 'Late', 'Missed'];

function cells(j: WeeklyJobLine): string[] {
  return [
    j.job,
    String(j.runs),
    ...RUN_ENDINGS.map((s) => String(j.byStatus[s] ?? 0)),
    String(j.items),
    j.medianMs === null ? '-' : formatDuration(j.medianMs),
    j.longestMs === null ? '-' : formatDuration(j.longestMs),
    String(j.late),
    j.missed === null ? '-' : String(j.missed),
  ];
}

export function weeklySubject(r: WeeklyReport): string {
  const failed = r.jobs.reduce((n, j) => n + (j.byStatus.failed ?? 0) + (j.byStatus.partial ?? 0), 0);
  const missed = r.jobs.reduce((n, j) => n + (j.missed ?? 0), 0);
  const flag = failed + missed > 0 ? `${failed} failed or partial, ${missed} missed` : 'all green';
  return `[ontime] Weekly report ${r.week}: ${flag}`;
}

function period(r: WeeklyReport): string {
  return `${formatInZone(new Date(r.start), r.timezone)} to ${formatInZone(new Date(r.end), r.timezone)} (${r.timezone})`;
}

function governanceLines(r: WeeklyReport): string[] {
  const g = r.governance;
  return [
    `Deletion warnings sent: ${g.warnings30 + g.warnings7 + g.warnings1} (30-day ${g.warnings30}, 7-day ${g.warnings7}, 1-day ${g.warnings1})`,
    `Surveys soft-deleted: ${g.softDeleted}`,
    `Surveys hard-deleted: ${g.hardDeleted} (responses ${g.responsesDeleted}, progress rows ${g.progressDeleted})`,
    `Skipped for a legal hold: ${g.skippedLegalHold}`,
  ];
}

export function renderWeeklyText(r: WeeklyReport): string {
  const table = r.jobs.map(cells);
  const widths = HEAD.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const render = (row: string[]) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    `ontime weekly report ${r.week}: ${period(r)}`,
    '',
    'Job runs (durations of runs that ran; late: started after the grace period; missed: no run by the end of the catch-up window)',
    render(HEAD),
    ...table.map(render),
    '',
    'Data governance',
    ...governanceLines(r).map((l) => `  ${l}`),
    '',
    'Outbox',
    `  Messages sent: ${r.outbox.sent}`,
    `  Messages failed: ${r.outbox.failed}`,
    '',
    '`ontime status` shows every job now; `ontime report governance` the deletions day by day.',
    '',
  ].join('\n');
}

export function renderWeeklyHtml(r: WeeklyReport, generatedAt: Date, host: string): string {
  const jobs = htmlTable('Job runs of the week', HEAD, r.jobs.map((j) => cells(j).map((c, i) => (i === 0 ? `<code>${e(c)}</code>` : e(c)))), {
    rowHeaders: true,
    numeric: HEAD.map((_, i) => i).slice(1),
  });
  const body = [
    `<p>${e(period(r))}</p>`,
    '<h2>Job runs</h2>',
    jobs,
    '<p class="muted">Durations of runs that ran. Late: started after the grace period. Missed: no run by the end of the catch-up window.</p>',
    '<h2>Data governance</h2>',
    `<ul>${governanceLines(r).map((l) => `<li>${e(l)}</li>`).join('')}</ul>`,
    '<h2>Outbox</h2>',
    `<ul><li>Messages sent: ${r.outbox.sent}</li><li>Messages failed: ${r.outbox.failed}</li></ul>`,
  ].join('\n');
  return htmlPage({ title: `ontime weekly report ${r.week}`, generatedAt, host, body });
}
