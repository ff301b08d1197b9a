/**
 * release-scheduled-cases under a profile with a status release rule (profiles/types.ts
 * StatusReleaseRule; the advisor portal): a case is released when its status is the rule's and
 * its scheduled_release_date instant has passed; nothing at all when the settings row's release
 * switch is false. The hold columns are not read: the application holds a case by its status.
 * Each batch releases, fills the rule's empty columns and adds its rows in one transaction.
 */
import { auditMany } from '../../db/audit.js';
import { countOtherStatus, releaseByStatus, selectReleasable, settingsSwitch, statusRule, type StatusCaseRow } from '../../db/status-release.js';
import { formatUtc, plural } from '../../output.js';
import type { JobContext, JobResult } from '../../runner/types.js';

export async function releaseByStatusRule(ctx: JobContext): Promise<JobResult> {
  const { out, dryRun, db, dialect } = ctx;
  const { cases, rule } = statusRule(db);
  out.line(ctx.startLine('scheduled case release'));
  const finish = () => {
    out.line('');
    out.line(`Scheduled case release completed at ${formatUtc(ctx.completedAt())}`);
  };

  const enabled = await settingsSwitch(db, 'release');
  if (!enabled) {
    out.line(
      enabled === null
        ? `No settings row in ${rule.switches.table}: batch release is treated as disabled, no case released.`
        : `Batch release is disabled (${rule.switches.table}.${rule.switches.release} is false): skipping, no case released.`,
    );
    finish();
    return { summary: { disabled: true, released: 0, otherStatus: 0 } };
  }

  const label = (r: StatusCaseRow) => `case ${r.id}${cases.reference ? ` (${String(r[cases.reference])})` : ''}`;
  let released = 0;
  let leftAlone = 0;
  const totals = await ctx.eachBatch<StatusCaseRow>({
    label: 'releasing scheduled cases',
    select: (afterId, size) => selectReleasable(db, dialect, ctx.now, afterId, size),
    preview(rows) {
      released += rows.length;
      if (ctx.verbose) for (const r of rows) out.detail(`  ${label(r)}: would be released`);
    },
    async apply(trx, rows) {
      const done = await releaseByStatus(trx, dialect, rows.map((r) => r.id), ctx.now);
      const doneIds = new Set(done.map((r) => r.id));
      await auditMany(trx, ctx, done.map((r) => ({ action: 'case.released', subjectType: 'case', subjectId: r.id, details: { rule: `status ${rule.status}` } })));
      released += done.length;
      leftAlone += rows.length - done.length;
      if (ctx.verbose) for (const r of rows) out.detail(`  ${label(r)}: ${doneIds.has(r.id) ? 'released' : 'left alone, changed by someone else since it was selected'}`);
    },
  });
  const otherStatus = await countOtherStatus(db, dialect, ctx.now);

  out.line('');
  out.line('--- Case Releases ---');
  out.line(`${dryRun ? 'Would release' : 'Released'}: ${plural(released, 'case')}`);
  out.line(`Scheduled time passed, status not ${rule.status} (on hold or not finished): ${plural(otherStatus, 'case')}`);
  if (leftAlone > 0) out.line(`Left alone (changed meanwhile): ${plural(leftAlone, 'case')}`);
  if (totals.limited) out.line('Stopped at --limit; more due cases may remain for the next run.');
  finish();
  return { summary: { disabled: false, released, otherStatus, leftAlone, batches: totals.batches, limited: totals.limited } };
}
