/**
 * process-data-governance: the GDPR retention job (jobs.md):
 *   - deletion warnings (30, 7 and 1 day(s) before deletion_date) to the survey owner, through the outbox;
 *   - soft deletion of live surveys whose deletion_date has passed;
 *   - hard deletion of surveys soft-deleted 30 days ago or more, children in batches, survey row last.
 * A survey with an active legal hold is left alone by all three, and the hold is re-checked inside
 * every statement that changes or deletes its rows (src/db/surveys.ts).
 *
 * Mail never holds up the deletions: deleting on time is a legal duty, the warning a courtesy. The
 * deletions run first (the report still shows the warnings first, as jobs.md's example does), and
 * a mail problem only sets the exit code: 69 (SMTP unreachable), 78 (mail not set up), 1 (refused).
 */
import type { Knex } from 'knex';
import { audit, auditMany } from '../db/audit.js';
import {
  CHILD_COUNT_KEY,
  CHILD_TABLES,
  HARD_DELETE_AFTER_DAYS,
  countChildrenOfSurveys,
  deleteChildrenOfSurveys,
  deleteSurveyRows,
  hardDeletionDue,
  hasActiveHold,
  recordWarning,
  softDelete,
  softDeletionDue,
  stillWarnable,
  warningCandidates,
  type ChildCounts,
  type DueSurvey,
  type WarningCandidate,
  type WarningDays,
} from '../db/surveys.js';
import { findOutboxByKey } from '../db/outbox.js';
import { DAY_MS, fromDbInstant } from '../db/time.js';
import { describeError, ExitCode, OntimeError } from '../errors.js';
import { singleAddress } from '../mail/address.js';
import { renderDeletionWarning } from '../mail/templates/deletion-warning.js';
import type { Mailer } from '../mail/mailer.js';
import { formatUtc } from '../output.js';
import type { JobContext, JobHandler } from '../runner/types.js';

export type GovernanceStep = 'warnings' | 'soft' | 'hard';

/**
 * Test seams, empty in production (nothing sets them outside tests): `afterSelect` runs after a
 * batch of surveys was selected and before anything is changed; `afterChildTransaction` after each
 * committed transaction of a batch's child rows; `beforeSurveyRowDelete` (per survey of the
 * batch) after the children were deleted and before the last transaction. A test places a legal
 * hold in exactly those gaps.
 */
export const hooks: {
  afterSelect?: (step: GovernanceStep, ids: number[]) => Promise<void> | void;
  afterChildTransaction?: (table: string, ids: number[]) => Promise<void> | void;
  beforeSurveyRowDelete?: (surveyId: number) => Promise<void> | void;
} = {};

/** Ends an SMTP-less stretch of the warning step: the reason every further warning is not sent. */
interface MailBlocked {
  reason: string;
  exitCode: number;
  /** What the operator can do about it (e.g. which variables set up mail). */
  hint?: string;
}

interface WarningTally {
  sent: Record<WarningDays, number>;
  alreadySent: number;
  invalidEmail: number;
  failed: number;
  failedEarlier: number;
  deferred: number;
  notSent: number;
}


/** The dedupe key of jobs.md: `survey-warning:<id>:<days>:<deletion_date ISO>`, whole seconds without a fraction. */
export function warningDedupeKey(surveyId: number, days: WarningDays, deletionDate: Date): string {
  return `survey-warning:${surveyId}:${days}:${deletionDate.toISOString().replace(/\.000Z$/, 'Z')}`;
}

/** `20 days 4 hours`, `10 hours`, `35 minutes`: the time left before a deletion, for --verbose. */
function timeLeft(ms: number): string {
  const days = Math.floor(ms / DAY_MS);
  const hours = Math.floor((ms % DAY_MS) / 3_600_000);
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h`;
  return `${Math.max(0, Math.ceil(ms / 60_000))}min`;
}

/** --limit is shared by the three steps: items are surveys warned, soft-deleted or hard-deleted. */
class Budget {
  constructor(private left: number) {}
  get remaining() {
    return this.left;
  }
  take(n = 1) {
    this.left -= n;
  }
  limited = false;
}

/**
 * Per-survey lines. `--verbose` lines are printed as they happen (so nothing per survey is kept
 * for the whole run, and a long run shows its progress); they come before the report. Lines that
 * show without --verbose (a warning the mail server refused) belong in their report section, so
 * they are kept, but at most MAX_KEPT of them: a mail server refusing everything must not grow
 * memory with the number of surveys.
 */
const MAX_KEPT = 20;
class Notes {
  private readonly kept: string[] = [];
  private more = 0;
  constructor(private readonly out: JobContext['out']) {}
  detail(text: string) {
    this.out.detail(text);
  }
  line(text: string) {
    if (this.kept.length < MAX_KEPT) this.kept.push(text);
    else this.more += 1;
    // With --verbose the line was wanted as it happened too.
    this.out.detail(text);
  }
  printTo(out: JobContext['out']) {
    for (const l of this.kept) out.line(l);
    if (this.more > 0) out.line(`  … and ${this.more} more (all of them with --verbose)`);
  }
}

/** Surveys an active legal hold stopped. Each step selects different surveys, so a sum is distinct. */
interface HoldTally {
  skipped: number;
}

interface SoftResult {
  count: number;
  changed: number;
}

interface HardResult extends SoftResult {
  rows: ChildCounts;
}

const processDataGovernance: JobHandler = async (ctx) => {
  const { out, dryRun } = ctx;
  const budget = new Budget(ctx.remaining());
  const skippedByHold: HoldTally = { skipped: 0 };
  const would = (real: string, dry: string) => (dryRun ? dry : real);
  const t: WarningTally = { sent: { 30: 0, 7: 0, 1: 0 }, alreadySent: 0, invalidEmail: 0, failed: 0, failedEarlier: 0, deferred: 0, notSent: 0 };
  const mail: { blocked?: MailBlocked } = {};
  const soft: SoftResult = { count: 0, changed: 0 };
  const hard: HardResult = { count: 0, changed: 0, rows: { responses: 0, progress: 0, warnings: 0, removedHolds: 0 } };
  const warningNotes = new Notes(out);
  const deletionNotes = new Notes(out);

  out.line(ctx.startLine('data governance processing'));

  // The deletions run first, the warnings last, and the report shows them in the spec's order.
  // The three steps select disjoint surveys (warnings: live, deletion_date after now; soft: live,
  // deletion_date at or before now; hard: soft-deleted 30 days ago or more) and none changes
  // another's selection, so the order changes no result; it only means that a slow or hanging
  // mail server, or the time limit reached while mailing, can never delay a deletion.
  let stopped: unknown;
  try {
    await softDeleteDue(ctx, budget, skippedByHold, soft, deletionNotes);
    await hardDeleteDue(ctx, budget, skippedByHold, hard, deletionNotes);
    await sendWarnings(ctx, budget, skippedByHold, t, mail, warningNotes);
  } catch (err) {
    stopped = err;
  }

  out.line('');
  out.line('--- Deletion Warnings ---');
  warningNotes.printTo(out);
  const sentTotal = t.sent[30] + t.sent[7] + t.sent[1];
  out.line(`${would('Sent', 'Would send')} ${sentTotal} deletion warnings:`);
  out.line(`  - 30-day warnings: ${t.sent[30]}`);
  out.line(`  - 7-day warnings: ${t.sent[7]}`);
  out.line(`  - 1-day warnings: ${t.sent[1]}`);
  if (t.invalidEmail > 0) out.line(`Not sent (owner email missing or invalid): ${t.invalidEmail} surveys`);
  if (t.failed > 0) out.line(`Failed (rejected by the mail server): ${t.failed} warnings`);
  if (t.failedEarlier > 0) out.line(`Refused in an earlier run, not retried: ${t.failedEarlier} warnings (see email_outbox.last_error)`);
  if (t.deferred > 0) out.line(`Deferred (temporary mail failure, retried next run): ${t.deferred} warnings`);
  if (mail.blocked) {
    out.line(`Not sent (${mail.blocked.reason}): ${t.notSent} warnings; nothing was recorded as sent for them`);
  }

  out.line('');
  out.line('--- Automatic Deletions ---');
  deletionNotes.printTo(out);
  out.line(`${would('Soft deleted', 'Would soft delete')}: ${soft.count} surveys`);
  out.line(`${would('Hard deleted', 'Would hard delete')}: ${hard.count} surveys`);
  out.line(`Skipped (legal hold): ${skippedByHold.skipped} surveys`);
  const changed = soft.changed + hard.changed;
  if (changed > 0) out.line(`Left alone (changed by someone else since selected): ${changed} surveys`);
  if (budget.limited) out.line('Stopped at --limit; more surveys may be due, the next run continues.');
  if (stopped) {
    // The counts above are what was committed; the runner reports the error and its exit code.
    out.line('Stopped early: the counts above are what was done; the next run continues with the rest.');
    throw stopped;
  }
  if (mail.blocked) {
    const hint = mail.blocked.hint ? ` (${mail.blocked.hint})` : '';
    out.warn(`deletion warnings were not sent: ${mail.blocked.reason}${hint}; the deletions ran regardless`);
  }
  out.line('');
  if (dryRun) out.line('Dry run: nothing was changed and no mail was sent.');
  out.line(`Data governance processing completed at ${formatUtc(ctx.completedAt())}`);

  const failed = t.failed + t.deferred;
  return {
    summary: {
      warningsSent: sentTotal,
      warnings30: t.sent[30],
      warnings7: t.sent[7],
      warnings1: t.sent[1],
      warningsAlreadySent: t.alreadySent,
      warningsInvalidEmail: t.invalidEmail,
      warningsFailed: t.failed,
      warningsFailedEarlier: t.failedEarlier,
      warningsDeferred: t.deferred,
      warningsNotSent: t.notSent,
      mailProblem: mail.blocked?.reason ?? null,
      softDeleted: soft.count,
      hardDeleted: hard.count,
      skippedLegalHold: skippedByHold.skipped,
      changedSinceSelected: changed,
      hardDeletedRows: hard.rows,
      limited: budget.limited,
    },
    failed,
    exitCode: mail.blocked?.exitCode ?? (failed > 0 ? ExitCode.partial : ExitCode.ok),
  };
};

export default processDataGovernance;

// ---------------------------------------------------------------------------------------------
// 1. Deletion warnings

async function sendWarnings(
  ctx: JobContext,
  budget: Budget,
  skippedByHold: HoldTally,
  tally: WarningTally,
  mail: { blocked?: MailBlocked },
  notes: Notes,
): Promise<void> {
  let mailer: Mailer | undefined;
  const getMailer = async (): Promise<Mailer | undefined> => {
    if (mailer || mail.blocked) return mailer;
    try {
      mailer = await ctx.mailer();
    } catch (err) {
      const d = describeError(err);
      mail.blocked = { reason: `mail could not be set up: ${d.message}`, exitCode: err instanceof OntimeError ? err.exitCode : d.exitCode, hint: d.hint };
    }
    return mailer;
  };

  let afterId = 0;
  for (;;) {
    if (budget.remaining <= 0) {
      budget.limited = true;
      break;
    }
    // Candidates already warned or held use no --limit budget, so select full batches.
    const size = ctx.batchSize;
    const rows = await warningCandidates(ctx.db, ctx.dialect, ctx.now, afterId, size);
    if (rows.length === 0) break;
    await hooks.afterSelect?.('warnings', rows.map((r) => r.id));
    await ctx.checkpoint();
    for (const row of rows) {
      const deletionDate = fromDbInstant(row.deletion_date)!;
      const what = `${row.days}-day warning (deletion ${formatUtc(deletionDate)}, ${timeLeft(deletionDate.getTime() - ctx.now.getTime())} left)`;
      if (row.warned) {
        notes.detail(`  survey ${row.id}: ${what} already sent for this deletion date`);
        continue;
      }
      if (row.held) {
        skippedByHold.skipped += 1;
        notes.detail(`  survey ${row.id}: skipped, active legal hold (${what} was due)`);
        continue;
      }
      if (budget.remaining <= 0) {
        budget.limited = true;
        break;
      }
      const email = singleAddress(row.owner_email);
      if (!email) {
        tally.invalidEmail += 1;
        notes.detail(`  survey ${row.id}: ${what} not sent, owner email ${row.owner_email?.trim() ? 'invalid address' : 'is missing'}`);
        continue;
      }
      budget.take();
      if (ctx.dryRun) {
        // What deliver() would find in the outbox under this key (read only).
        const existing = await findOutboxByKey(ctx.db, warningDedupeKey(row.id, row.days, deletionDate));
        if (existing?.status === 'sent') {
          tally.alreadySent += 1;
          notes.detail(`  survey ${row.id}: ${what} had already been sent; would record it`);
        } else if (existing?.status === 'failed' && existing.to_address === email) {
          tally.failedEarlier += 1;
          notes.detail(`  survey ${row.id}: ${what} was refused by the mail server in an earlier run; would not retry`);
        } else {
          tally.sent[row.days] += 1;
          notes.detail(`  survey ${row.id}: would send ${what} to the owner`);
        }
        continue;
      }
      const m = await getMailer();
      if (!m || mail.blocked) {
        tally.notSent += 1;
        notes.detail(`  survey ${row.id}: ${what} not sent, ${mail.blocked!.reason}`);
        continue;
      }
      await sendOne(ctx, m, row, deletionDate, what, tally, skippedByHold, notes, (b) => (mail.blocked = b));
    }
    afterId = rows[rows.length - 1]!.id;
    if (rows.length < size) break;
  }
}

async function sendOne(
  ctx: JobContext,
  mailer: Mailer,
  row: WarningCandidate,
  deletionDate: Date,
  what: string,
  tally: WarningTally,
  skippedByHold: HoldTally,
  notes: Notes,
  block: (b: MailBlocked) => void,
): Promise<void> {
  // The selection may be a while old on a big run: re-check right before the message is created.
  const state = await stillWarnable(ctx.db, ctx.dialect, row.id, deletionDate);
  if (state === 'held') {
    skippedByHold.skipped += 1;
    notes.detail(`  survey ${row.id}: skipped, a legal hold was placed since selection (${what} was due)`);
    return;
  }
  if (state === 'changed') {
    notes.detail(`  survey ${row.id}: ${what} not sent, the survey changed since selection`);
    return;
  }
  const rendered = renderDeletionWarning({
    surveyId: row.id,
    surveyName: row.name,
    ownerName: row.owner_name,
    deletionDate,
    daysBefore: row.days,
    siteUrl: ctx.config.siteUrl,
  });
  const outboxRow = await mailer.enqueue(
    ctx.db,
    {
      dedupeKey: warningDedupeKey(row.id, row.days, deletionDate),
      kind: 'survey-deletion-warning',
      to: singleAddress(row.owner_email)!,
      ...rendered,
    },
    ctx.runId,
  );
  const record = async (db: Knex | Knex.Transaction, sentAt: Date) => {
    const recorded = await recordWarning(db, ctx.dialect, { surveyId: row.id, days: row.days, announced: deletionDate, sentAt });
    if (recorded) {
      await audit(db, ctx, {
        action: 'survey.deletion_warning_sent',
        subjectType: 'survey',
        subjectId: row.id,
        details: { daysBefore: row.days, deletionDate: deletionDate.toISOString(), outboxId: outboxRow.id },
      });
    }
  };
  const outcome = await mailer.deliver(outboxRow, (trx, sentAt) => record(trx, sentAt));
  switch (outcome.status) {
    case 'sent':
      tally.sent[row.days] += 1;
      notes.detail(`  survey ${row.id}: ${what} sent to the owner`);
      return;
    case 'already-sent':
      // Accepted by the server in an earlier run whose record is missing: record it, do not resend.
      await ctx.db.transaction((trx) => record(trx, ctx.now));
      tally.alreadySent += 1;
      notes.detail(`  survey ${row.id}: ${what} had already been sent; recorded`);
      return;
    case 'deferred':
      tally.deferred += 1;
      notes.detail(`  survey ${row.id}: ${what} deferred, temporary mail failure: ${outcome.error}`);
      return;
    case 'failed':
      if (outcome.earlier) {
        // Refused for good in an earlier run (that run exited 1); not retried by itself.
        tally.failedEarlier += 1;
        notes.detail(`  survey ${row.id}: ${what} was refused by the mail server in an earlier run: ${outcome.error}`);
        return;
      }
      tally.failed += 1;
      notes.line(`  survey ${row.id}: ${what} failed, the mail server refused it: ${outcome.error}`);
      return;
    case 'unreachable': {
      tally.notSent += 1;
      const reason =
        outcome.cause === 'connect'
          ? `the mail server cannot be reached: ${outcome.error}`
          : outcome.cause === 'auth'
            ? `the mail server refused the login: ${outcome.error}`
            : `mail is misconfigured: ${outcome.error}`;
      block({ reason, exitCode: outcome.cause === 'connect' ? ExitCode.unavailable : ExitCode.config });
      notes.detail(`  survey ${row.id}: ${what} not sent, ${reason}`);
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Soft deletion

async function softDeleteDue(
  ctx: JobContext,
  budget: Budget,
  skippedByHold: HoldTally,
  result: SoftResult,
  notes: Notes,
): Promise<void> {
  let afterId = 0;
  for (;;) {
    if (budget.remaining <= 0) {
      budget.limited = true;
      break;
    }
    const size = Math.min(ctx.batchSize, budget.remaining);
    const rows = await softDeletionDue(ctx.db, ctx.dialect, ctx.now, afterId, size);
    if (rows.length === 0) break;
    afterId = rows[rows.length - 1]!.id;
    await hooks.afterSelect?.('soft', rows.map((r) => r.id));
    await ctx.checkpoint();
    const held = rows.filter((r) => r.held);
    const due = rows.filter((r) => !r.held);
    for (const r of held) {
      skippedByHold.skipped += 1;
      notes.detail(`  survey ${r.id}: not soft deleted, active legal hold (deletion date ${when(r)})`);
    }
    if (ctx.dryRun) {
      for (const r of due) notes.detail(`  survey ${r.id}: would soft delete (deletion date ${when(r)} has passed)`);
      result.count += due.length;
      budget.take(due.length);
    } else if (due.length > 0) {
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
      const doneSet = new Set(done);
      for (const r of due) {
        if (doneSet.has(r.id)) {
          notes.detail(`  survey ${r.id}: soft deleted (deletion date ${when(r)} has passed)`);
        } else if (await hasActiveHold(ctx.db, r.id)) {
          skippedByHold.skipped += 1;
          notes.detail(`  survey ${r.id}: not soft deleted, a legal hold was placed since selection`);
        } else {
          result.changed += 1;
          notes.detail(`  survey ${r.id}: not soft deleted, it changed since selection (deleted or rescheduled)`);
        }
      }
      result.count += done.length;
      budget.take(done.length);
    }
    if (rows.length < size) break;
  }
}

function when(r: DueSurvey): string {
  return formatUtc(fromDbInstant(r.due_at)!);
}

// ---------------------------------------------------------------------------------------------
// 3. Hard deletion

/** Thrown inside a batch's last transaction to roll it back when the rule changed in the middle. */
class BatchChanged extends Error {}

/** Child rows deleted per transaction, per survey in the batch: --batch-size 1000 → 10,000 rows. */
const CHILD_ROWS_PER_SURVEY = 10;

const noCounts = (): ChildCounts => ({ responses: 0, progress: 0, warnings: 0, removedHolds: 0 });

async function hardDeleteDue(
  ctx: JobContext,
  budget: Budget,
  skippedByHold: HoldTally,
  result: HardResult,
  notes: Notes,
): Promise<void> {
  const cutoff = new Date(ctx.now.getTime() - HARD_DELETE_AFTER_DAYS * DAY_MS);
  let afterId = 0;
  for (;;) {
    if (budget.remaining <= 0) {
      budget.limited = true;
      break;
    }
    const size = Math.min(ctx.batchSize, budget.remaining);
    const due = await hardDeletionDue(ctx.db, ctx.dialect, cutoff, afterId, size);
    if (due.length === 0) break;
    afterId = due[due.length - 1]!.id;
    await hooks.afterSelect?.('hard', due.map((r) => r.id));
    await ctx.checkpoint();
    const free = due.filter((r) => !r.held);
    for (const survey of due) {
      if (!survey.held) continue;
      skippedByHold.skipped += 1;
      notes.detail(`  survey ${survey.id}: not hard deleted, active legal hold (soft deleted ${when(survey)})`);
    }
    const ids = free.map((r) => r.id);
    if (ctx.dryRun) {
      const counts = await countChildrenOfSurveys(ctx.db, ids);
      for (const survey of free) {
        const c = counts.get(survey.id)!;
        addCounts(result.rows, c);
        notes.detail(`  survey ${survey.id}: would hard delete (soft deleted ${when(survey)}; ${describeCounts(c)})`);
      }
      result.count += free.length;
      budget.take(free.length);
    } else if (free.length > 0) {
      const { deleted, counts } = await hardDeleteBatch(ctx, ids, cutoff);
      for (const survey of free) {
        if (deleted.has(survey.id)) {
          const c = counts.get(survey.id)!;
          addCounts(result.rows, c);
          notes.detail(`  survey ${survey.id}: hard deleted (soft deleted ${when(survey)}; ${describeCounts(c)})`);
        } else if (await hasActiveHold(ctx.db, survey.id)) {
          skippedByHold.skipped += 1;
          notes.detail(`  survey ${survey.id}: not hard deleted, a legal hold was placed since selection`);
        } else {
          result.changed += 1;
          notes.detail(`  survey ${survey.id}: not hard deleted, it changed since selection (restored or already gone)`);
        }
      }
      result.count += deleted.size;
      budget.take(deleted.size);
    }
    if (due.length < size) break;
  }
}

/**
 * One batch of surveys, set-based: their children table by table in transactions of at most
 * batch-size × 10 rows spanning all the batch's surveys (so a survey with a huge number of
 * responses goes over several transactions), every statement guarded by the rule per survey;
 * then one last transaction that locks the survey rows, deletes what is left, the removed holds
 * and the surveys, and writes their audit rows with the counts. Returns the surveys deleted and
 * the rows deleted per survey.
 */
async function hardDeleteBatch(
  ctx: JobContext,
  ids: number[],
  cutoff: Date,
): Promise<{ deleted: Set<number>; counts: Map<number, ChildCounts> }> {
  const counts = new Map<number, ChildCounts>(ids.map((id) => [id, noCounts()]));
  const rowBudget = ctx.batchSize * CHILD_ROWS_PER_SURVEY;
  for (const table of CHILD_TABLES) {
    const key = CHILD_COUNT_KEY[table];
    for (;;) {
      await ctx.checkpoint();
      const gone = await ctx.transaction((trx) => deleteChildrenOfSurveys(trx, ctx.dialect, table, ids, cutoff, rowBudget));
      await hooks.afterChildTransaction?.(table, ids);
      let total = 0;
      for (const [id, n] of gone) {
        counts.get(id)![key] += n;
        total += n;
      }
      if (total < rowBudget) break;
    }
  }
  await ctx.checkpoint();
  for (const id of ids) await hooks.beforeSurveyRowDelete?.(id);
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

function addCounts(into: ChildCounts, c: ChildCounts): void {
  into.responses += c.responses;
  into.progress += c.progress;
  into.warnings += c.warnings;
  into.removedHolds += c.removedHolds;
}

function describeCounts(c: ChildCounts): string {
  return `${c.responses} responses, ${c.progress} progress, ${c.warnings} warnings, ${c.removedHolds} removed holds`;
}
