/** The governance report as text, CSV (RFC 4180, one row per day and a totals row), JSON or HTML. */
import { formatUtc } from '../output.js';
import { escapeHtml as e, htmlPage, htmlTable } from '../status/html.js';
import { csvText } from './csv.js';
import type { GovernanceCounts, GovernanceDay, GovernanceReport } from './governance.js';

export type ReportFormat = 'text' | 'csv' | 'json' | 'html';

const COLUMNS: Array<[header: string, label: string, pick: (c: GovernanceCounts) => number]> = [
  ['warnings_30d', '30-day warnings', (c) => c.warnings30],
  ['warnings_7d', '7-day warnings', (c) => c.warnings7],
  ['warnings_1d', '1-day warnings', (c) => c.warnings1],
  ['soft_deleted', 'Soft-deleted surveys', (c) => c.softDeleted],
  ['hard_deleted', 'Hard-deleted surveys', (c) => c.hardDeleted],
  ['responses_deleted', 'Responses deleted', (c) => c.responsesDeleted],
  ['progress_deleted', 'Progress rows deleted', (c) => c.progressDeleted],
  ['skipped_legal_hold', 'Skipped (legal hold)', (c) => c.skippedLegalHold],
];

function title(r: GovernanceReport): string {
  return `Data governance report ${r.from} to ${r.to}`;
}

function scope(r: GovernanceReport): string {
  return `Days in ${r.timezone}: ${formatUtc(new Date(r.start))} to ${formatUtc(new Date(r.end))} (end excluded). From audit_log only (${r.auditRows} rows of the data governance job); survey ids and counts, no personal data.`;
}

const hardIds = (d: GovernanceDay) => d.hardDeletedSurveys.map((h) => h.surveyId).join(' ');

export function renderGovernanceCsv(r: GovernanceReport): string {
  const header = ['day', ...COLUMNS.map(([h]) => h), 'hard_deleted_survey_ids'];
  const rows = r.days.map((d) => [d.day, ...COLUMNS.map(([, , pick]) => pick(d)), hardIds(d)]);
  rows.push(['total', ...COLUMNS.map(([, , pick]) => pick(r.totals)), r.days.map(hardIds).filter(Boolean).join(' ')]);
  return csvText(header, rows);
}

export function renderGovernanceJson(r: GovernanceReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

export function renderGovernanceText(r: GovernanceReport): string {
  const lines = [title(r), scope(r), ''];
  const header = ['DAY', ...COLUMNS.map(([, label]) => label.toUpperCase())];
  const table = [...r.days.map((d) => [d.day, ...COLUMNS.map(([, , pick]) => String(pick(d)))]), ['TOTAL', ...COLUMNS.map(([, , pick]) => String(pick(r.totals)))]];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const render = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  lines.push(render(header), ...table.map(render), '');
  const hard = r.days.flatMap((d) => d.hardDeletedSurveys);
  if (hard.length === 0) {
    lines.push('Hard deletions: none in this range.');
  } else {
    lines.push('Hard deletions (survey id: rows deleted):');
    for (const h of hard) lines.push(`  ${formatUtc(new Date(h.at))}  survey ${h.surveyId}: ${h.responses} responses, ${h.progress} progress rows`);
  }
  return `${lines.join('\n')}\n`;
}

export function renderGovernanceHtml(r: GovernanceReport, generatedAt: Date, host: string): string {
  const daily = htmlTable(
    'Per day, and in total',
    ['Day', ...COLUMNS.map(([, label]) => label)],
    [
      ...r.days.map((d) => [e(d.day), ...COLUMNS.map(([, , pick]) => String(pick(d)))]),
      ['<strong>Total</strong>', ...COLUMNS.map(([, , pick]) => `<strong>${pick(r.totals)}</strong>`)],
    ],
    { rowHeaders: true, numeric: COLUMNS.map((_, i) => i + 1) },
  );
  const hard = r.days.flatMap((d) => d.hardDeletedSurveys);
  const hardTable =
    hard.length === 0
      ? '<p>None in this range.</p>'
      : htmlTable(
          'Every hard-deleted survey with the rows deleted',
          ['Survey id', 'Deleted at', 'Responses deleted', 'Progress rows deleted'],
          hard.map((h) => [String(h.surveyId), e(formatUtc(new Date(h.at))), String(h.responses), String(h.progress)]),
          { rowHeaders: true, numeric: [2, 3] },
        );
  const body = `<p>${e(scope(r))}</p>\n<h2>Per day</h2>\n${daily}\n<h2>Hard deletions</h2>\n${hardTable}`;
  return htmlPage({ title: title(r), generatedAt, host, body });
}
