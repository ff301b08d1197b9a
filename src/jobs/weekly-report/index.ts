/**
 * weekly-report: on Monday morning, the previous ISO week (Monday 00:00 to Monday 00:00 in
 * ONTIME_TIMEZONE) mailed to ONTIME_REPORT_EMAILS: job runs, governance, outbox. Plain text plus
 * HTML, through the outbox with dedupe key `weekly-report:<ISO week>` (one address) or
 * `weekly-report:<ISO week>:<address>` (several), so a second run in the same week sends nothing.
 * Without ONTIME_REPORT_EMAILS, or with --dry-run, it prints the report and sends nothing.
 */
import { hostname } from 'node:os';
import { ExitCode } from '../../errors.js';
import { formatUtc } from '../../output.js';
import { jobs } from '../../registry.js';
import { weeklyReport } from '../../reports/weekly.js';
import { renderWeeklyHtml, renderWeeklyText, weeklySubject } from '../../reports/weekly-render.js';
import { previousIsoWeek } from '../../reports/zone-days.js';
import type { JobHandler } from '../../runner/types.js';

export const REPORT_EMAILS_ENV = 'ONTIME_REPORT_EMAILS';

export function reportAddresses(env: Record<string, string | undefined>): string[] {
  return (env[REPORT_EMAILS_ENV] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function weeklyDedupeKey(week: string, address: string, addresses: number): string {
  return addresses === 1 ? `weekly-report:${week}` : `weekly-report:${week}:${address.toLowerCase()}`.slice(0, 191);
}

const weeklyReportJob: JobHandler = async (ctx) => {
  const { out, config } = ctx;
  const week = previousIsoWeek(ctx.now, config.timezone);
  out.line(ctx.startLine(`the weekly report for ${week.label}`));
  const report = await weeklyReport(ctx.db, ctx.dialect, jobs, week, config.timezone, ctx.now);
  const text = renderWeeklyText(report);
  const addresses = reportAddresses(config.env);
  const summary = { week: week.label, recipients: addresses.length, reportsSent: 0, alreadySent: 0, notSent: 0 };

  if (ctx.dryRun || addresses.length === 0) {
    out.line('');
    for (const line of text.trimEnd().split('\n')) out.line(line);
    out.line('');
    out.line(
      addresses.length === 0
        ? `Not mailed: ${REPORT_EMAILS_ENV} is not set. Set it to comma-separated addresses to receive this report every Monday.`
        : `Dry run: would mail this report to ${addresses.join(', ')}; nothing was sent.`,
    );
    return { summary };
  }

  const mailer = await ctx.mailer();
  const html = renderWeeklyHtml(report, ctx.now, hostname());
  let exitCode: number = ExitCode.ok;
  for (const to of addresses) {
    const row = await mailer.enqueue(
      ctx.db,
      { dedupeKey: weeklyDedupeKey(week.label, to, addresses.length), kind: 'weekly-report', to, subject: weeklySubject(report), text, html },
      ctx.runId,
    );
    const outcome = await mailer.deliver(row);
    if (outcome.status === 'sent') {
      summary.reportsSent += 1;
      out.line(`Sent the weekly report ${week.label} to ${to}`);
    } else if (outcome.status === 'already-sent') {
      summary.alreadySent += 1;
      out.line(`The weekly report ${week.label} was already sent to ${to}; not sent again`);
    } else {
      summary.notSent += 1;
      out.line(`Not sent to ${to} (${outcome.status}): ${outcome.error}`);
      if (outcome.status === 'unreachable') {
        exitCode = outcome.cause === 'connect' ? ExitCode.unavailable : ExitCode.config;
        break;
      }
    }
  }
  out.line(`Weekly report completed at ${formatUtc(ctx.completedAt())}`);
  return { summary, failed: exitCode === ExitCode.ok ? summary.notSent : 0, exitCode: exitCode === ExitCode.ok ? undefined : exitCode };
};

export default weeklyReportJob;
