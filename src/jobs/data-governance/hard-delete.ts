/**
 * Step 3 of data governance: hard deletion of surveys soft-deleted 30 days ago or more, their
 * children in bounded transactions, the survey rows last.
 */
import { auditMany } from '../../db/audit.js';
import {
  CHILD_COUNT_KEY,
  CHILD_TABLES,
  hardDeletionCutoff,
  countChildrenOfSurveys,
  deleteChildrenOfSurveys,
  deleteSurveyRows,
  hardDeletionDue,
  hasActiveHold,
  type ChildCounts,
  type DueSurvey,
} from '../../db/surveys/index.js';
import type { JobContext } from '../../runner/types.js';
import { addCounts, describeCounts, noChildCounts, type GovernanceTally, type SectionLines } from './report.js';
import { dueAt } from './soft-delete.js';
import { hardDeleteByGraph, newPlanCache } from './hard-delete-graph.js';

export const HARD_DELETE_LABEL = 'hard-deleting surveys';

/** Thrown inside a batch's last transaction to roll it back when the rule changed in the middle. */
class BatchChanged extends Error {}

/** Child rows deleted per transaction, per survey in the batch: a page of 1000 → 10,000 rows. */
const CHILD_ROWS_PER_SURVEY = 10;
/**
 * And never more than this many per transaction: a time-sized page of surveys can grow to 10,000,
 * and 100,000 child rows in one transaction took close to a second (docs/performance.md).
 */
const CHILD_ROWS_PER_TRANSACTION = 10_000;

export async function hardDeleteDue(ctx: JobContext, tally: GovernanceTally, notes: SectionLines): Promise<void> {
  // deleted_at <= now - 30 days, or hard_deletion_date <= now under that rule (docs/profiles.md).
  const cutoff = hardDeletionCutoff(ctx.db, ctx.now);
  // Under `hardDeletionChildren: foreign-keys` the referencing tables come from the catalog (read once per run).
  const planFor = ctx.schema.profile.rules.hardDeletionChildren === 'foreign-keys' ? newPlanCache(ctx) : null;
  const totals = await ctx.eachPage<DueSurvey>({
    label: HARD_DELETE_LABEL,
    countsItself: true,
    select: (afterId, size) => hardDeletionDue(ctx.db, ctx.dialect, cutoff, afterId, size, ctx.shard),
    handle: async (due, page) => {
      const free = due.filter((r) => !r.held);
      for (const survey of due) {
        if (!survey.held) continue;
        tally.skippedByHold += 1;
        notes.detail(`  survey ${survey.id}: not hard deleted, active legal hold (soft deleted ${dueAt(survey)})`);
      }
      const ids = free.map((r) => r.id);
      if (ctx.dryRun) {
        const counts = await countChildrenOfSurveys(ctx.db, ctx.dialect, ids);
        for (const survey of free) {
          const c = counts.get(survey.id)!;
          addCounts(tally.hard.rows, c);
          notes.detail(`  survey ${survey.id}: would hard delete (soft deleted ${dueAt(survey)}; ${describeCounts(c)})`);
        }
        tally.hard.count += free.length;
        page.take(free.length);
        return;
      }
      if (free.length === 0) return;
      const { deleted, counts } = planFor
        ? await hardDeleteByGraph(ctx, planFor, ids, cutoff)
        : await hardDeleteBatch(ctx, ids, cutoff, Math.min(page.size * CHILD_ROWS_PER_SURVEY, CHILD_ROWS_PER_TRANSACTION));
      tally.hard.count += deleted.size;
      page.take(deleted.size);
      for (const survey of free) {
        if (deleted.has(survey.id)) {
          const c = counts.get(survey.id)!;
          addCounts(tally.hard.rows, c);
          notes.detail(`  survey ${survey.id}: hard deleted (soft deleted ${dueAt(survey)}; ${describeCounts(c)})`);
        } else if (await hasActiveHold(ctx.db, ctx.dialect, survey.id)) {
          tally.skippedByHold += 1;
          notes.detail(`  survey ${survey.id}: not hard deleted, a legal hold was placed since selection`);
        } else {
          tally.hard.changed += 1;
          notes.detail(`  survey ${survey.id}: not hard deleted, it changed since selection (restored or already gone)`);
        }
      }
    },
  });
  tally.limited ||= totals.limited;
}

/**
 * One batch of surveys, set-based: their children table by table in transactions of at most
 * `rowBudget` rows spanning all the batch's surveys (so a survey with a huge number of responses
 * goes over several transactions), every statement guarded by the rule per survey; then one last
 * transaction that locks the survey rows, deletes what is left, the removed holds and the
 * surveys, and writes their audit rows with the counts. Returns the surveys deleted and the rows
 * deleted per survey.
 */
async function hardDeleteBatch(
  ctx: JobContext,
  ids: number[],
  cutoff: Date,
  rowBudget: number,
): Promise<{ deleted: Set<number>; counts: Map<number, ChildCounts> }> {
  const counts = new Map<number, ChildCounts>(ids.map((id) => [id, noChildCounts()]));
  for (const table of CHILD_TABLES) {
    const key = CHILD_COUNT_KEY[table];
    for (;;) {
      await ctx.checkpoint();
      const gone = await ctx.transaction((trx) => deleteChildrenOfSurveys(trx, ctx.dialect, table, ids, cutoff, rowBudget));
      await ctx.hooks.afterChildTransaction(table, ids);
      let total = 0;
      for (const [id, n] of gone) {
        counts.get(id)![key] += n;
        total += n;
      }
      if (total < rowBudget) break;
    }
  }
  await ctx.checkpoint();
  for (const id of ids) await ctx.hooks.beforeSurveyRowDelete(id);
  // Retried when a hold is re-activated in the middle of the last transaction (rolled back, so
  // nothing of that survey is lost); after three tries the batch is left for the next run.
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const deleted = await ctx.transaction(async (trx) => {
        const final = await deleteSurveyRows(trx, ctx.dialect, ids, cutoff, Number.MAX_SAFE_INTEGER);
        if (!final) throw new BatchChanged();
        const total = (id: number): ChildCounts => {
          const c = { ...counts.get(id)! };
          const late = final.leftovers.get(id);
          if (late) addCounts(c, late);
          return c;
        };
        await auditMany(
          trx,
          ctx,
          // Counts only: the survey's name and owner are exactly what had to go.
          final.deleted.map((id) => ({ action: 'survey.hard_deleted', subjectType: 'survey', subjectId: id, details: { ...total(id), survey: 1 } })),
        );
        for (const [id, late] of final.leftovers) addCounts(counts.get(id)!, late);
        return final.deleted;
      });
      return { deleted: new Set(deleted), counts };
    } catch (err) {
      if (!(err instanceof BatchChanged)) throw err;
    }
  }
  return { deleted: new Set(), counts };
}
