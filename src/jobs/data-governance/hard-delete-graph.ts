/**
 * Hard deletion under `rules.hardDeletionChildren: foreign-keys` (CheckTick): every table that
 * references the survey, directly or through its children, read once per run from the database
 * catalog and deleted leaf-first in one transaction per survey (db/foreign-keys.ts), nullable
 * self-references (translated_from_id) set to null first. The hard-deletion rule (due, no active
 * legal hold) is the guard of every changing statement; a survey whose rule stops holding midway
 * is rolled back whole. ontime's own warning rows for the survey go in the same transaction (they
 * have no foreign key into the application). The audit row counts the rows deleted per table.
 */
import { auditMany } from '../../db/audit.js';
import { createDeletePlanCache, deleteWithDependents, GuardChangedError } from '../../db/foreign-keys.js';
import { hardDeletableGuard, surveyNames, type ChildCounts } from '../../db/surveys/index.js';
import type { JobContext } from '../../runner/types.js';
import { noChildCounts } from './report.js';

export type PlanCache = ReturnType<typeof createDeletePlanCache>;

export function newPlanCache(ctx: JobContext): PlanCache {
  return createDeletePlanCache(ctx.db, ctx.dialect);
}

export async function hardDeleteByGraph(
  ctx: JobContext,
  planFor: PlanCache,
  ids: number[],
  cutoff: Date,
): Promise<{ deleted: Set<number>; counts: Map<number, ChildCounts> }> {
  const n = surveyNames(ctx.db);
  const plan = await planFor(n.surveysTable, { rootKey: 'id' });
  const guard = hardDeletableGuard(ctx.db, ctx.dialect, cutoff);
  const deleted = new Set<number>();
  const counts = new Map<number, ChildCounts>(ids.map((id) => [id, noChildCounts()]));
  for (const id of ids) {
    await ctx.checkpoint();
    await ctx.hooks.beforeSurveyRowDelete(id);
    try {
      await ctx.transaction(async (trx) => {
        const r = await deleteWithDependents(trx, ctx.dialect, plan, [id], { guard });
        if (r.roots === 0) return;
        const warnings = Number(await trx(n.warningsTable).where('survey_id', id).del());
        const c = counts.get(id)!;
        c.responses = r.deleted[ctx.schema.profile.surveyResponses?.table ?? ''] ?? 0;
        c.progress = r.deleted[ctx.schema.profile.progress?.table ?? ''] ?? 0;
        c.removedHolds = r.deleted[n.holdsTable] ?? 0;
        c.warnings = warnings;
        const tables = { ...r.deleted, [n.warningsTable]: warnings };
        delete tables[n.surveysTable];
        // Counts only, per table: the survey's name and owner are exactly what had to go.
        await auditMany(trx, ctx, [
          { action: 'survey.hard_deleted', subjectType: 'survey', subjectId: id, details: { ...c, survey: 1, tables, nulled: r.nulled } },
        ]);
        deleted.add(id);
      });
    } catch (err) {
      // A hold placed (or a restore) between the confirmation and the survey row: rolled back whole.
      if (!(err instanceof GuardChangedError)) throw err;
      deleted.delete(id);
    }
  }
  return { deleted, counts };
}
