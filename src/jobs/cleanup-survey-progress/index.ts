/**
 * cleanup-survey-progress: delete survey_progress rows that have expired — `expires_at < now`, or,
 * without expires_at, `updated_at < now − N days`. Counts by kind of respondent.
 */
import type { Knex } from 'knex';
import { audit } from '../../db/audit.js';
import {
  canDeleteReturning,
  deleteExpiredProgressBatch,
  deleteExpiredProgressRange,
  deleteExpiredProgressCounted,
  type CountedProgressBatch,
  expiredProgress,
  progressKind,
  progressColumns,
  progressTable,
  PROGRESS_COLUMNS,
  PROGRESS_KIND_COLUMNS,
  selectExpiredProgress,
  type ProgressKind,
  type ProgressRow,
} from '../../db/progress.js';
import { DAY_MS, fromDbInstant } from '../../db/time.js';
import { formatUtc, plural } from '../../output.js';
import type { JobHandler } from '../../runner/types.js';

export interface CleanupOptions {
  /** Absent: the profile's rules.progressStaleDays. */
  olderThanDays?: number;
}

const KIND_LABELS: Record<ProgressKind, string> = {
  authenticated: 'authenticated',
  anonymous: 'anonymous',
  token: 'token-based',
  unknown: 'without user, session or token',
};

const cleanupSurveyProgress: JobHandler<CleanupOptions> = async (ctx, given) => {
  const { out, dryRun } = ctx;
  const rules = ctx.schema.profile.rules;
  const options = { olderThanDays: given.olderThanDays ?? rules.progressStaleDays };
  const staleBefore = new Date(ctx.now.getTime() - options.olderThanDays * DAY_MS);
  const kindOrder = rules.progressKindOrder;
  const counts: Record<ProgressKind, number> = { authenticated: 0, anonymous: 0, token: 0, unknown: 0 };
  /** The rows of a batch by kind (listed under --verbose). */
  const tally = (rows: ProgressRow[]) => {
    const kinds: Record<ProgressKind, number> = { authenticated: 0, anonymous: 0, token: 0, unknown: 0 };
    for (const row of rows) {
      const kind = progressKind(row, kindOrder);
      kinds[kind] += 1;
      // Built only when shown: no per-row strings for a run of millions.
      if (ctx.verbose) out.detail(`  progress ${row.id} (survey ${row.survey_id}, ${KIND_LABELS[kind]}): ${why(row)}`);
    }
    return kinds;
  };
  const add = (kinds: Record<ProgressKind, number>) => {
    for (const kind of Object.keys(counts) as ProgressKind[]) counts[kind] += kinds[kind];
  };
  const why = (row: ProgressRow) => {
    const expires = fromDbInstant(row.expires_at);
    return expires
      ? `expired ${formatUtc(expires)}`
      : `no expiry, last updated ${row.updated_at ? formatUtc(fromDbInstant(row.updated_at)!) : 'never'}`;
  };
  const expired = (q: Knex.QueryBuilder) => expiredProgress(q, ctx.dialect, ctx.now, staleBefore);

  out.line(ctx.startLine('survey progress cleanup'));
  out.line(
    rules.progressExpiry === 'expired-or-stale'
      ? `Expired: expires_at before now, or not updated for ${plural(options.olderThanDays, 'day')} whatever expires_at says (before ${formatUtc(staleBefore)})`
      : `Expired: expires_at before now, or no expires_at and not updated for ${plural(options.olderThanDays, 'day')} (before ${formatUtc(staleBefore)})`,
  );

  /** Record what a batch deleted (counted by kind) in the batch's transaction; count it once that has committed. */
  const recordCounted = async (trx: Knex.Transaction, batch: CountedProgressBatch) => {
    // A batch whose COMMIT fails (a deferred foreign key) deleted nothing: the run must not count it.
    trx.executionPromise.then(() => add(batch.kinds), () => undefined);
    await audit(trx, ctx, {
      action: 'survey_progress.deleted',
      subjectType: 'survey_progress',
      subjectId: null,
      details: {
        deleted: batch.count,
        firstId: batch.firstId,
        lastId: batch.lastId,
        authenticated: batch.kinds.authenticated,
        anonymous: batch.kinds.anonymous,
        token: batch.kinds.token,
        olderThanDays: options.olderThanDays,
      },
    });
  };
  /** Count what a batch deleted and record it in the batch's transaction. */
  const recordDeleted = (trx: Knex.Transaction, rows: ProgressRow[]) =>
    recordCounted(trx, { count: rows.length, firstId: rows[0]!.id, lastId: rows[rows.length - 1]!.id, kinds: tally(rows) });

  // One statement per batch where the server can return what a DELETE removed: a primary-key
  // range on PostgreSQL and SQLite, `ORDER BY id LIMIT n` on MariaDB; otherwise (MySQL proper)
  // select, lock and re-read, then delete.
  const deleteBatch = dryRun
    ? undefined
    : ctx.dialect !== 'mysql'
      ? deleteExpiredProgressRange
      : (await canDeleteReturning(ctx.db, ctx.dialect))
        ? deleteExpiredProgressBatch
        : undefined;
  const counted = !dryRun && !ctx.verbose && ctx.dialect === 'postgres';
  const totals = await ctx.eachBatch<ProgressRow>({
    label: 'deleting expired survey progress',
    select: (afterId, size) => selectExpiredProgress(ctx.db, ctx.dialect, ctx.now, staleBefore, afterId, size, ctx.shard),
    preview: (rows) => add(tally(rows)),
    ...(counted
      ? {
          // PostgreSQL without --verbose: the rows are counted by kind in the DELETE's statement,
          // nothing per row comes back, so a batch may hold up to 100,000 rows.
          takeUnbounded: true,
          async take(trx: Knex.Transaction, afterId: number, size: number) {
            const batch = await deleteExpiredProgressCounted(trx, ctx.dialect, ctx.now, staleBefore, afterId, size, kindOrder, ctx.shard);
            if (batch.count > 0) await recordCounted(trx, batch);
            return { count: batch.count, lastId: batch.lastId };
          },
        }
      : deleteBatch
      ? {
          async take(trx: Knex.Transaction, afterId: number, size: number) {
            const columns = ctx.verbose ? PROGRESS_COLUMNS : PROGRESS_KIND_COLUMNS;
            const deletedRows = await deleteBatch(trx, ctx.dialect, ctx.now, staleBefore, afterId, size, columns, ctx.shard);
            if (deletedRows.length > 0) await recordDeleted(trx, deletedRows);
            return deletedRows;
          },
        }
      : {}),
    async apply(trx, rows) {
      // Selected a moment ago; a draft the respondent touched since then is no longer expired.
      // Lock and re-read inside the transaction so the counts match what was deleted.
      let lockedQuery = expired(trx(progressTable(trx)))
        .select(progressColumns(trx))
        .whereIn(
          'id',
          rows.map((r) => r.id),
        );
      if (ctx.dialect !== 'sqlite') lockedQuery = lockedQuery.forUpdate();
      const still: ProgressRow[] = await lockedQuery;
      if (still.length === 0) return;
      await trx(progressTable(trx))
        .whereIn(
          'id',
          still.map((r) => r.id),
        )
        .del();
      await recordDeleted(trx, still);
    },
  });

  const deleted = counts.authenticated + counts.anonymous + counts.token + counts.unknown;
  out.line('');
  out.line(
    deleted === 0
      ? 'No expired survey progress records.'
      : `${dryRun ? 'Would delete' : 'Deleted'} ${plural(deleted, 'expired survey progress record')}:`,
  );
  if (deleted > 0) {
    out.line(`  - authenticated: ${counts.authenticated}`);
    out.line(`  - anonymous: ${counts.anonymous}`);
    out.line(`  - token-based: ${counts.token}`);
    if (counts.unknown > 0) out.line(`  - ${KIND_LABELS.unknown}: ${counts.unknown}`);
  }
  if (totals.limited) out.line(`Stopped at --limit; more expired records may remain for the next run.`);
  out.line('');
  out.line(`Survey progress cleanup completed at ${formatUtc(ctx.completedAt())}`);

  return {
    summary: {
      deleted,
      authenticated: counts.authenticated,
      anonymous: counts.anonymous,
      token: counts.token,
      unknown: counts.unknown,
      batches: totals.batches,
      limited: totals.limited,
      olderThanDays: options.olderThanDays,
    },
  };
};

export default cleanupSurveyProgress;
