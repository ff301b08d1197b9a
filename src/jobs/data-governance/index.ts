/**
 * process-data-governance: the GDPR retention job (docs/reference/jobs.md):
 *   - deletion warnings (30, 7 and 1 day(s) before deletion_date) to the survey owner, through
 *     the outbox (warnings.ts);
 *   - soft deletion of live surveys whose deletion_date has passed (soft-delete.ts);
 *   - hard deletion of surveys soft-deleted 30 days ago or more, children in batches, survey row
 *     last (hard-delete.ts).
 * A survey with an active legal hold is left alone by all three, and the hold is re-checked inside
 * every statement that changes or deletes its rows (src/db/surveys/rules.ts).
 *
 * Mail never holds up the deletions: deleting on time is a legal duty, the warning a courtesy. The
 * deletions run first (the report still shows the warnings first, as docs/reference/jobs.md's example does), and
 * a mail problem only sets the exit code: 69 (SMTP unreachable), 78 (mail not set up), 1 (refused).
 * --limit is shared by the three steps: items are surveys warned, soft-deleted or hard-deleted.
 */
import { audit } from '../../db/audit.js';
import type { JobContext, JobHandler } from '../../runner/types.js';
import { hardDeleteDue } from './hard-delete.js';
import { closingLines, failedWarnings, governanceExitCode, governanceSummary, newTally, reportLines, SectionLines } from './report.js';
import { softDeleteDue } from './soft-delete.js';
import { sendWarnings } from './warnings.js';

export { warningDedupeKey } from './warnings.js';

const processDataGovernance: JobHandler = async (ctx) => {
  const { out } = ctx;
  const tally = newTally();
  const warningLines = new SectionLines((text) => out.detail(text));
  const deletionLines = new SectionLines((text) => out.detail(text));
  // A run stopped by the time limit or a signal records what it had done by then.
  ctx.reportProgress(() => governanceSummary(tally));

  out.line(ctx.startLine('data governance processing'));

  // The three steps select disjoint surveys (warnings: live, deletion_date after now; soft: live,
  // deletion_date at or before now; hard: soft-deleted 30 days ago or more) and none changes
  // another's selection, so the order changes no result; it only means that a slow or hanging
  // mail server, or the time limit reached while mailing, can never delay a deletion.
  let stopped: unknown;
  try {
    await softDeleteDue(ctx, tally, deletionLines);
    await hardDeleteDue(ctx, tally, deletionLines);
    await sendWarnings(ctx, tally, warningLines);
  } catch (err) {
    stopped = err;
  }
  if (!ctx.dryRun && tally.skippedByHold > 0) await recordHoldSkips(ctx, tally.skippedByHold);

  const report = { dryRun: ctx.dryRun, warningLines: warningLines.lines(), deletionLines: deletionLines.lines(), stopped: Boolean(stopped) };
  for (const line of reportLines(tally, report)) out.line(line);
  // The counts above are what was committed; the runner reports the error and its exit code.
  if (stopped) throw stopped;
  if (tally.mailBlocked) {
    const hint = tally.mailBlocked.hint ? ` (${tally.mailBlocked.hint})` : '';
    out.warn(`deletion warnings were not sent: ${tally.mailBlocked.reason}${hint}; the deletions ran regardless`);
  }
  for (const line of closingLines(ctx.dryRun, ctx.completedAt())) out.line(line);

  return { summary: governanceSummary(tally), failed: failedWarnings(tally), exitCode: governanceExitCode(tally) };
};

/**
 * One audit row per run for the surveys a legal hold kept from a warning or a deletion: the
 * governance report's evidence that holds were respected. A count only; no survey data.
 */
async function recordHoldSkips(ctx: JobContext, surveys: number): Promise<void> {
  const entry = { action: 'survey.legal_hold_skipped', subjectType: 'survey', subjectId: null, details: { surveys } };
  await audit(ctx.db, ctx, entry).catch((err) => ctx.out.warn(`could not record the legal-hold skips in audit_log: ${(err as Error).message}`));
}

export default processDataGovernance;
