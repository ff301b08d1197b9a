/**
 * release-scheduled-cases: set actual_release_date on every case whose scheduled release day has
 * come, unless it is on hold today; with batch release enabled, cases scheduled for today wait
 * for batch_release_time (overdue ones do not). Settings come from system_settings.
 */
import type { Knex } from 'knex';
import { auditMany } from '../../db/audit.js';
import {
  countCases,
  heldBackQuery,
  pageOf,
  releaseCases,
  selectDueForRelease,
  takeReleaseBatch,
  waitingForBatchQuery,
  type CaseReleaseRow,
  type ReleaseWindow,
} from '../../db/cases.js';
import { holdEnd } from '../../db/case-holds.js';
import { getBooleanSetting, getSetting } from '../../db/settings.js';
import { fromDbDay } from '../../db/time.js';
import { ConfigError, UsageError } from '../../errors.js';
import { formatUtc, plural, type Output } from '../../output.js';
import { eachListedRow } from '../../runner/batches.js';
import type { JobHandler } from '../../runner/types.js';
import { casesWithReleaseColumns } from '../../db/schema.js';
import { releaseByStatusRule } from './by-status.js';

/**
 * `batch_release_time` → seconds after UTC midnight. HH:MM as docs/reference/schema.md says; HH:MM:SS is
 * accepted too, because a Django TimeField writes that form.
 */
export function parseBatchReleaseTime(raw: string): { seconds: number; text: string } {
  const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(raw.trim());
  const [h, min, s] = m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : [NaN, NaN, NaN];
  if (!m || h > 23 || min > 59 || s > 59) {
    throw new ConfigError(
      `system setting batch_release_time must be a UTC time of day HH:MM such as 08:00, not "${raw}"`,
      'fix the row in system_settings, or set batch_release_enabled to false',
    );
  }
  const pad = (n: number) => String(n).padStart(2, '0');
  return { seconds: h * 3600 + min * 60 + s, text: `${pad(h)}:${pad(min)}${s ? `:${pad(s)}` : ''}` };
}

function secondsOfDayUtc(d: Date): number {
  return d.getUTCHours() * 3600 + d.getUTCMinutes() * 60 + d.getUTCSeconds();
}

function holdText(row: CaseReleaseRow): string {
  const start = fromDbDay(row.hold_start_date)!;
  const end = holdEnd(start, fromDbDay(row.hold_end_date), row.hold_duration_days === null ? null : Number(row.hold_duration_days));
  return end ? `on hold from ${start}, the hold is over on ${end}` : `on hold since ${start} with no end date`;
}

const releaseScheduledCases: JobHandler = async (ctx) => {
  const { out, dryRun, db, dialect, today } = ctx;
  if (ctx.schema.profile.cases?.statusRelease) {
    // The status rule pages by its own query, which carries no shard predicate: refuse, never ignore.
    if (ctx.shard) throw new UsageError(`--shard is not supported under the ${ctx.schema.profile.name} profile's status release rule`, 'run it without --shard');
    return releaseByStatusRule(ctx);
  }
  casesWithReleaseColumns(db);
  out.line(ctx.startLine('scheduled case release'));

  if (!(await getBooleanSetting(db, 'enable_scheduled_releases', true))) {
    out.line('Scheduled releases are disabled (system setting enable_scheduled_releases is false): no case released.');
    out.line('');
    out.line(`Scheduled case release completed at ${formatUtc(ctx.completedAt())}`);
    return { summary: { disabled: true, released: 0, heldBack: 0, waitingForBatchTime: 0 } };
  }

  const batchEnabled = await getBooleanSetting(db, 'batch_release_enabled', false);
  const batchTime = batchEnabled ? parseBatchReleaseTime((await getSetting(db, 'batch_release_time')) ?? '00:00') : null;
  const batchTimeReached = batchTime ? secondsOfDayUtc(ctx.now) >= batchTime.seconds : true;
  const window: ReleaseWindow = { dialect, today, onlyOverdue: !batchTimeReached };

  if (batchTime) {
    out.line(
      batchTimeReached
        ? `Batch release time ${batchTime.text} UTC reached: every case due today or earlier is released.`
        : `Batch release time ${batchTime.text} UTC not reached yet: only overdue cases (scheduled before ${today}) are released now.`,
    );
  }

  let released = 0;
  let leftAlone = 0;
  const describeDue = (r: CaseReleaseRow) => {
    const day = fromDbDay(r.scheduled_release_date)!;
    return `scheduled ${day}${day < today ? ', overdue' : ''}`;
  };
  const auditReleased = (trx: Knex.Transaction, done: CaseReleaseRow[]) =>
    auditMany(
      trx,
      ctx,
      done.map((r) => ({
        action: 'case.released',
        subjectType: 'case',
        subjectId: Number(r.id),
        details: { scheduledReleaseDate: fromDbDay(r.scheduled_release_date) },
      })),
    );
  const totals = await ctx.eachBatch<CaseReleaseRow>({
    label: 'releasing scheduled cases',
    select: (afterId, size) => selectDueForRelease(db, window, afterId, size, ctx.shard),
    preview(rows) {
      released += rows.length;
      if (ctx.verbose) for (const r of rows) out.detail(`  case ${r.id} (${r.reference}): would be released (${describeDue(r)})`);
    },
    // PostgreSQL and SQLite pick, release and audit each batch in one statement (db/cases.ts),
    // the release rule re-checked by the UPDATE itself; MariaDB locks and re-reads a selected batch.
    ...(dialect === 'mysql'
      ? {}
      : {
          async take(trx: Knex.Transaction, afterId: number, size: number) {
            const done = await takeReleaseBatch(trx, window, ctx, ctx.now, afterId, size, ctx.verbose ? undefined : ['id'], ctx.shard);
            released += done.length;
            if (ctx.verbose) for (const r of done) out.detail(`  case ${r.id} (${r.reference}): released (${describeDue(r)})`);
            return done;
          },
        }),
    async apply(trx, rows) {
      const done = await releaseCases(trx, window, rows.map((r) => Number(r.id)), ctx.now);
      const doneSet = new Set(done);
      await auditReleased(
        trx,
        rows.filter((r) => doneSet.has(Number(r.id))),
      );
      released += done.length;
      leftAlone += rows.length - done.length;
      if (ctx.verbose) {
        for (const r of rows) {
          out.detail(
            doneSet.has(Number(r.id))
              ? `  case ${r.id} (${r.reference}): released (${describeDue(r)})`
              : `  case ${r.id} (${r.reference}): left alone, released or put on hold by someone else since it was selected`,
          );
        }
      }
    },
  });

  const heldQuery = heldBackQuery(db, dialect, today, ctx.shard);
  const heldBack = await countCases(heldQuery);
  const waitingQuery = batchTimeReached ? null : waitingForBatchQuery(db, dialect, today, ctx.shard);
  const waiting = waitingQuery ? await countCases(waitingQuery) : 0;
  if (out.verbose) {
    await eachListedRow((afterId, size) => pageOf(heldQuery, afterId, size), (r) => out.detail(`  case ${r.id} (${r.reference}): held back, ${holdText(r)}`));
    if (waitingQuery) await eachListedRow((afterId, size) => pageOf(waitingQuery, afterId, size), (r) => out.detail(`  case ${r.id} (${r.reference}): waiting for the batch release time ${batchTime!.text} UTC`));
  }

  printSummary(out, { dryRun, released, leftAlone, heldBack, waiting, batchTime: batchTime?.text ?? null, limited: totals.limited });
  out.line('');
  out.line(`Scheduled case release completed at ${formatUtc(ctx.completedAt())}`);

  return {
    summary: {
      released,
      heldBack,
      waitingForBatchTime: waiting,
      leftAlone,
      batchReleaseEnabled: batchEnabled,
      batchReleaseTime: batchTime?.text ?? null,
      batchTimeReached,
      batches: totals.batches,
      limited: totals.limited,
    },
  };
};

function printSummary(
  out: Output,
  s: { dryRun: boolean; released: number; leftAlone: number; heldBack: number; waiting: number; batchTime: string | null; limited: boolean },
): void {
  out.line('');
  out.line('--- Case Releases ---');
  out.line(`${s.dryRun ? 'Would release' : 'Released'}: ${plural(s.released, 'case')}`);
  out.line(`Held back (on hold today): ${plural(s.heldBack, 'case')}`);
  if (s.batchTime) out.line(`Waiting for the batch release time (${s.batchTime} UTC): ${plural(s.waiting, 'case')}`);
  if (s.leftAlone > 0) out.line(`Left alone (released or put on hold meanwhile): ${plural(s.leftAlone, 'case')}`);
  if (s.limited) out.line('Stopped at --limit; more due cases may remain for the next run.');
}

export default releaseScheduledCases;
