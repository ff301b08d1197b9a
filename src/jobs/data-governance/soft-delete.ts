/** Step 2 of data governance: soft deletion of live surveys whose deletion_date has passed. */
import { auditMany } from '../../db/audit.js';
import { hasActiveHold, softDelete, softDeletionDue, type DueSurvey } from '../../db/surveys/index.js';
import { fromDbInstant } from '../../db/time.js';
import { formatUtc } from '../../output.js';
import type { JobContext } from '../../runner/types.js';
import type { GovernanceTally, SectionLines } from './report.js';

export const SOFT_DELETE_LABEL = 'soft-deleting surveys';

/** The instant a selected survey became due (deletion date, or soft deletion for the hard step). */
export function dueAt(r: DueSurvey): string {
  return formatUtc(fromDbInstant(r.due_at)!);
}

export async function softDeleteDue(ctx: JobContext, tally: GovernanceTally, notes: SectionLines): Promise<void> {
  const totals = await ctx.eachPage<DueSurvey>({
    label: SOFT_DELETE_LABEL,
    countsItself: true,
    select: (afterId, size) => softDeletionDue(ctx.db, ctx.dialect, ctx.now, afterId, size, ctx.shard),
    handle: async (rows, page) => {
      const due = rows.filter((r) => !r.held);
      for (const r of rows) {
        if (!r.held) continue;
        tally.skippedByHold += 1;
        notes.detail(`  survey ${r.id}: not soft deleted, active legal hold (deletion date ${dueAt(r)})`);
      }
      if (ctx.dryRun) {
        for (const r of due) notes.detail(`  survey ${r.id}: would soft delete (deletion date ${dueAt(r)} has passed)`);
        tally.soft.count += due.length;
        page.take(due.length);
        return;
      }
      if (due.length === 0) return;
      const byId = new Map(due.map((r) => [r.id, r]));
      // One guarded UPDATE for the batch, its audit rows in one multi-row INSERT.
      const done = await ctx.transaction(async (trx) => {
        const ids = await softDelete(trx, ctx.dialect, ctx.now, due.map((r) => r.id));
        await auditMany(
          trx,
          ctx,
          ids.map((id) => ({
            action: 'survey.soft_deleted',
            subjectType: 'survey',
            subjectId: id,
            details: { deletionDate: fromDbInstant(byId.get(id)!.due_at)!.toISOString() },
          })),
        );
        return ids;
      });
      tally.soft.count += done.length;
      page.take(done.length);
      const doneSet = new Set(done);
      for (const r of due) {
        if (doneSet.has(r.id)) {
          notes.detail(`  survey ${r.id}: soft deleted (deletion date ${dueAt(r)} has passed)`);
        } else if (await hasActiveHold(ctx.db, ctx.dialect, r.id)) {
          tally.skippedByHold += 1;
          notes.detail(`  survey ${r.id}: not soft deleted, a legal hold was placed since selection`);
        } else {
          tally.soft.changed += 1;
          notes.detail(`  survey ${r.id}: not soft deleted, it changed since selection (deleted or rescheduled)`);
        }
      }
    },
  });
  tally.limited ||= totals.limited;
}
