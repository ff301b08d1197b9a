/**
 * Step 1 of data governance (run last): deletion warnings 30, 7 and 1 day(s) before deletion_date
 * to the survey owner, each through the outbox, so a warning goes out at most once per survey,
 * threshold and deletion date.
 */
import { singleAddress } from '../../mail/address.js';
import type { Knex } from 'knex';
import { audit } from '../../db/audit.js';
import { transactionOf } from '../../db/transaction.js';
import { recordWarning, stillWarnable, warningCandidates, type WarningCandidate, type WarningDays } from '../../db/surveys/index.js';
import { DAY_MS, fromDbInstant } from '../../db/time.js';
import { describeError, OntimeError, refusedRowError } from '../../errors.js';
import type { Mailer, OutboxRow } from '../../mail/mailer.js';
import { countOutcome, mailStop, previewDelivery } from '../../mail/outcomes.js';
import { renderDeletionWarning } from '../../mail/templates/deletion-warning.js';
import { profileTemplate } from '../../mail/templates/profile.js';
import { formatUtc } from '../../output.js';
import type { JobContext } from '../../runner/types.js';
import type { GovernanceTally, SectionLines } from './report.js';
import { sentByApplication, warningsCutover } from './cutover.js';

export const WARNINGS_LABEL = 'sending deletion warnings';


/** The dedupe key of docs/reference/jobs.md: `survey-warning:<id>:<days>:<deletion_date ISO>`, whole seconds without a fraction. */
export function warningDedupeKey(surveyId: number, days: WarningDays, deletionDate: Date): string {
  return `survey-warning:${surveyId}:${days}:${deletionDate.toISOString().replace(/\.000Z$/, 'Z')}`;
}

/** `20d 4h`, `10h`, `35min`: the time left before a deletion, for --verbose. */
function timeLeft(ms: number): string {
  const days = Math.floor(ms / DAY_MS);
  const hours = Math.floor((ms % DAY_MS) / 3_600_000);
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h`;
  return `${Math.max(0, Math.ceil(ms / 60_000))}min`;
}

export async function sendWarnings(ctx: JobContext, tally: GovernanceTally, notes: SectionLines): Promise<void> {
  const t = tally.warnings;
  let mailer: Mailer | undefined;
  const getMailer = async (): Promise<Mailer | undefined> => {
    if (mailer || tally.mailBlocked) return mailer;
    try {
      mailer = await ctx.mailer();
    } catch (err) {
      const d = describeError(err);
      tally.mailBlocked = { reason: `mail could not be set up: ${d.message}`, exitCode: err instanceof OntimeError ? err.exitCode : d.exitCode, hint: d.hint };
    }
    return mailer;
  };

  const cutover = await warningsCutover(ctx);
  const totals = await ctx.eachPage<WarningCandidate>({
    label: WARNINGS_LABEL,
    // Candidates already warned or held use no --limit, so pages are full; each warning takes one.
    countsItself: true,
    limitCapsPage: false,
    select: (afterId, size) => warningCandidates(ctx.db, ctx.dialect, ctx.now, afterId, size, ctx.shard),
    handle: async (rows, page) => {
      for (const row of rows) {
        const deletionDate = fromDbInstant(row.deletion_date)!;
        const what = `${row.days}-day warning (deletion ${formatUtc(deletionDate)}, ${timeLeft(deletionDate.getTime() - ctx.now.getTime())} left)`;
        if (row.warned) {
          notes.detail(`  survey ${row.id}: ${what} already sent for this deletion date`);
          continue;
        }
        if (row.held) {
          tally.skippedByHold += 1;
          notes.detail(`  survey ${row.id}: skipped, active legal hold (${what} was due)`);
          continue;
        }
        if (sentByApplication(cutover, deletionDate, row.days)) {
          // The application's to send, before ontime took over: recorded, never mailed again.
          t.sentByApplication += 1;
          if (!ctx.dryRun) await recordWarning(ctx.db, ctx.dialect, { surveyId: row.id, days: row.days, announced: deletionDate, sentAt: ctx.now });
          notes.detail(`  survey ${row.id}: ${what} fell due before the cut-over ${formatUtc(cutover!)}; taken as sent by the application`);
          continue;
        }
        if (!page.canTake()) return;
        const email = singleAddress(row.owner_email);
        if (!email) {
          t.invalidEmail += 1;
          notes.detail(`  survey ${row.id}: ${what} not sent, owner email ${row.owner_email?.trim() ? 'invalid address' : 'is missing'}`);
          continue;
        }
        page.take();
        if (ctx.dryRun) {
          const preview = await previewDelivery(ctx.db, t, warningDedupeKey(row.id, row.days, deletionDate), email);
          if (preview.status === 'already-sent') notes.detail(`  survey ${row.id}: ${what} had already been sent; would record it`);
          else if (preview.status === 'failed-earlier') notes.detail(`  survey ${row.id}: ${what} was refused by the mail server in an earlier run; would not retry`);
          else {
            t.byDays[row.days] += 1;
            notes.detail(`  survey ${row.id}: would send ${what} to the owner`);
          }
          continue;
        }
        const m = await getMailer();
        if (!m || tally.mailBlocked) {
          t.notSent += 1;
          notes.detail(`  survey ${row.id}: ${what} not sent, ${tally.mailBlocked!.reason}`);
          continue;
        }
        await sendOne(ctx, m, row, deletionDate, what, tally, notes);
      }
    },
  });
  tally.limited ||= totals.limited;
}

async function sendOne(
  ctx: JobContext,
  mailer: Mailer,
  row: WarningCandidate,
  deletionDate: Date,
  what: string,
  tally: GovernanceTally,
  notes: SectionLines,
): Promise<void> {
  // The selection may be a while old on a big run: re-check right before the message is created.
  const state = await stillWarnable(ctx.db, ctx.dialect, row.id, deletionDate);
  if (state === 'held') {
    tally.skippedByHold += 1;
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
  }, profileTemplate(ctx.schema.profile, 'deletion-warning'));
  const survey = `  survey ${row.id}:`;
  /** The database refused this survey's row alone (its reason, or the error to tell by refusedRowError): listed, the run goes on. */
  const refused = (err: unknown, what: string) => {
    const reason = typeof err === 'string' ? err : refusedRowError(err);
    if (reason === undefined) throw err;
    ctx.rowFailed(row.id, reason);
    notes.line(`${survey} ${what}: ${reason}`);
  };
  let outboxRow: OutboxRow;
  try {
    outboxRow = await mailer.enqueue(
      ctx.db,
      { dedupeKey: warningDedupeKey(row.id, row.days, deletionDate), kind: 'survey-deletion-warning', to: singleAddress(row.owner_email)!, ...rendered },
      ctx.runId,
    );
  } catch (err) {
    return refused(err, `${what} not sent, the database refused its outbox row`);
  }
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
  countOutcome(tally.warnings, outcome);
  const unrecorded = `${what} sent (the outbox keeps it from being sent again), but the database refused to record it`;
  switch (outcome.status) {
    case 'sent':
      tally.warnings.byDays[row.days] += 1;
      notes.detail(`${survey} ${what} sent to the owner`);
      if (outcome.unrecorded) refused(outcome.unrecorded, unrecorded);
      return;
    case 'already-sent':
      // Accepted by the server in an earlier run whose record is missing: record it, do not resend.
      try {
        await transactionOf(ctx.db, ctx.dialect, (trx) => record(trx, ctx.now));
      } catch (err) {
        return refused(err, unrecorded);
      }
      notes.detail(`${survey} ${what} had already been sent; recorded`);
      return;
    case 'deferred':
      notes.detail(`${survey} ${what} deferred, temporary mail failure: ${outcome.error}`);
      return;
    case 'failed':
      // Refused for good in an earlier run (that run exited 1): not retried by itself.
      if (outcome.earlier) notes.detail(`${survey} ${what} was refused by the mail server in an earlier run: ${outcome.error}`);
      else notes.line(`${survey} ${what} failed, the mail server refused it: ${outcome.error}`);
      return;
    case 'unreachable':
      tally.mailBlocked = mailStop(outcome);
      notes.detail(`${survey} ${what} not sent, ${tally.mailBlocked.reason}`);
      return;
  }
}
