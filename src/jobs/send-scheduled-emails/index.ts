/**
 * send-scheduled-emails: the notification email of every case whose scheduled email date has come
 * (actual_email_sent_date null, scheduled_email_date <= today, not on hold today), each through
 * the outbox, so a message is sent at most once per (case, scheduled date) and a crash repeats at
 * most the messages in flight, with the same Message-IDs: those in conversation (one per
 * connection, ONTIME_SMTP_CONNECTIONS, default 4) plus up to 20 accepted and waiting for their
 * group commit; the one message in flight with ONTIME_SMTP_CONNECTIONS=1.
 *
 * Why ctx.eachPage and not ctx.eachBatch: eachBatch runs the whole batch inside one database
 * transaction, and an SMTP conversation must never happen inside a database transaction (a slow
 * server would hold row locks for minutes, and the commit of "sent" must follow the server's
 * acceptance, not enclose it). So each page of due cases is enqueued in one multi-row insert and
 * claimed (`sending`) in one UPDATE, its messages are sent over a few pooled connections at once,
 * and accepted ones are marked sent in small groups, each group in one short transaction with the
 * cases' actual_email_sent_date and their audit rows.
 */
import { audit, auditMany, type AuditEntry } from '../../db/audit.js';
import { markCaseEmailSent, markCaseEmailsSent } from '../../db/case-emails.js';
import { emailSwitchOff, ontimeSource, statusRuleSource, type MailCase } from './sources.js';
import { fromDbDay, fromDbInstant } from '../../db/time.js';
import { refusedRowError, UsageError } from '../../errors.js';
import { transactionOf } from '../../db/transaction.js';
import { formatUtc, plural } from '../../output.js';
import type { Mailer, OutboxRow, OutgoingMessage } from '../../mail/mailer.js';
import { CappedLines, countOutcome, newMailTally, previewDelivery, PROBLEM_LINES_CAP, unreachableExitCode } from '../../mail/outcomes.js';
import type { JobHandler } from '../../runner/types.js';
import { casesWithReleaseColumns } from '../../db/schema.js';
/** How often, at most, the lock, time limit and signals are checked while a page is being sent. */
const CHECKPOINT_INTERVAL_MS = 1000;
/**
 * Due cases per page under --batch-size auto. A page is not a transaction here (its messages are
 * sent, then committed in groups of at most SENT_GROUP_MAX), so its duration says nothing about
 * transaction length; sized by it, pages shrank to 100 rows and each page turn (the last
 * conversations drain, then the next insert and claim) cost up to 40 % of the throughput
 * (docs/performance.md, mail). 1,000 messages keep a page's memory small.
 */
const PAGE_SIZE = 1000;

/** A due case with an address, and its message. */
interface Pending {
  row: MailCase;
  to: string;
  message: OutgoingMessage;
}


const sendScheduledEmails: JobHandler = async (ctx) => {
  const { out, dryRun, db, dialect } = ctx;
  const byStatus = Boolean(ctx.schema.profile.cases?.statusRelease);
  // The status rule's sweep carries no shard predicate: refuse, never ignore.
  if (byStatus && ctx.shard) throw new UsageError(`--shard is not supported under the ${ctx.schema.profile.name} profile's status release rule`, 'run it without --shard');
  if (!byStatus) casesWithReleaseColumns(db);
  const source = byStatus ? statusRuleSource(ctx) : ontimeSource(ctx);
  const mail = newMailTally();
  let due = 0;
  let skippedNoAddress = 0;
  /** contact_email is not exactly one valid address (a list, a line break, a NUL...): never sent. */
  let skippedInvalidAddress = 0;
  // Skipped and failed cases are listed always, at most PROBLEM_LINES_CAP of each (--verbose: all).
  const problemLines = () => new CappedLines({ cap: ctx.verbose ? Number.POSITIVE_INFINITY : PROBLEM_LINES_CAP, print: (text) => out.line(text) });
  const listed = { skipped: problemLines(), failed: problemLines() };
  /** Set when the transport could not take any message: the run stops there. */
  let stopped: { error: string; cause: 'connect' | 'auth' | 'config' } | undefined;
  let mailer: Mailer | undefined;

  /** A due case listed always (capped), or only under --verbose. */
  const report = (kind: 'skipped' | 'failed' | null, text: string) => (kind ? listed[kind].add(text) : out.detail(text));
  const label = (row: MailCase) => `case ${row.reference} (id ${row.id})`;
  /** Sent, but the database refused to record it on the case alone: the outbox keeps it from going out again. */
  const notRecorded = (row: MailCase, reason: string) => {
    ctx.rowFailed(row.id, reason);
    report('failed', `  FAILED ${label(row)}: the email is sent (the outbox keeps it from being sent again), but the database refused to record it on the case: ${reason}`);
  };

  out.line(ctx.startLine('scheduled email sending'));
  out.line('');
  out.heading('--- Scheduled Emails ---');

  if (byStatus) {
    const off = await emailSwitchOff(ctx);
    if (off) return off;
  }

  if (dryRun && !ctx.config.email.backend) {
    out.warn('no mail backend is configured (EMAIL_HOST, or EMAIL_BACKEND=console|file): a real run with mail due would exit 78');
  }

  /** Dry run: what a real run would do with the message, from the outbox's point of view; nothing is written. */
  const preview = async (row: MailCase, to: string, message: OutgoingMessage) => {
    const p = await previewDelivery(db, mail, message.dedupeKey, to);
    if (p.status === 'already-sent') out.line(`  ${label(row)}: already sent (outbox ${p.row.id}); would only record it on the case`);
    else if (p.status === 'failed-earlier') out.line(`  ${label(row)}: failed earlier, would not retry: ${p.row.last_error ?? ''}`);
    else out.line(`  would send to ${to}: ${message.subject}`);
  };

  const auditEntry = (item: Pending, outboxRow: OutboxRow, sentAt: Date, extra: Record<string, unknown>): AuditEntry => ({
    action: 'case.email_sent',
    subjectType: 'case',
    subjectId: item.row.id,
    details: {
      outboxId: outboxRow.id,
      messageId: outboxRow.message_id,
      scheduledEmailDate: fromDbDay(item.row.scheduled_email_date),
      sentAt: sentAt.toISOString(),
      ...extra,
    },
  });

  /**
   * Enqueue a page's messages in one insert, then hand them to the mail layer, which sends with
   * bounded concurrency and marks accepted ones sent in small groups, each group's transaction also
   * recording the emails on their cases with audit rows.
   */
  const sendPage = async (page: Pending[]) => {
    let items = page;
    mailer ??= await ctx.mailer();
    const m = mailer;
    let outboxRows: OutboxRow[];
    try {
      outboxRows = await m.enqueueMany(
        db,
        items.map((i) => i.message),
        ctx.runId,
      );
    } catch (err) {
      if (refusedRowError(err) === undefined) throw err;
      // The database refused the page's insert for the data in it: one by one, so a case it
      // refuses alone is listed and skipped (nothing was said to the server yet).
      const enqueued: Pending[] = [];
      outboxRows = [];
      for (const item of items) {
        try {
          outboxRows.push(await m.enqueue(db, item.message, ctx.runId));
          enqueued.push(item);
        } catch (rowErr) {
          const reason = refusedRowError(rowErr);
          if (reason === undefined) throw rowErr;
          ctx.rowFailed(item.row.id, reason);
          report('failed', `  FAILED ${label(item.row)}: not sent, the database refused its outbox row: ${reason}`);
        }
      }
      items = enqueued;
    }
    const byOutboxId = new Map(outboxRows.map((r, i) => [r.id, items[i]!]));
    const itemOf = (r: OutboxRow) => byOutboxId.get(r.id)!;

    // Checking the lock, the time limit and signals costs a query: at most once a second, so a
    // run still stops within about a second plus the messages in flight.
    let lastCheck = 0;
    let checking: Promise<void> | undefined;
    const beforeSend = () => {
      if (checking) return checking;
      if (Date.now() - lastCheck < CHECKPOINT_INTERVAL_MS) return Promise.resolve();
      checking = ctx.checkpoint().finally(() => {
        lastCheck = Date.now();
        checking = undefined;
      });
      return checking;
    };

    const result = await mailer.deliverMany(outboxRows, {
      beforeSend,
      onSent: async (trx, accepted) => {
        const changed = new Set(
          await markCaseEmailsSent(
            trx,
            dialect,
            accepted.map((a) => ({ caseId: itemOf(a.row).row.id, sentAt: a.sentAt })),
          ),
        );
        const recorded = accepted.filter((a) => changed.has(itemOf(a.row).row.id));
        await auditMany(trx, ctx, recorded.map((a) => auditEntry(itemOf(a.row), a.row, a.sentAt, {})));
        await source.afterSent(trx, recorded.map((a) => ({ ...itemOf(a.row), subject: itemOf(a.row).message.subject, sentAt: a.sentAt })));
      },
      onOutcome: async (outboxRow, outcome) => {
        const item = itemOf(outboxRow);
        const { row, to, message } = item;
        countOutcome(mail, outcome);
        switch (outcome.status) {
          case 'sent':
            report(null, `  sent ${label(row)} to ${to}: ${message.subject} (Message-ID ${outcome.messageId})`);
            if (outcome.unrecorded) notRecorded(row, outcome.unrecorded);
            break;
          case 'already-sent': {
            // The outbox says it went out, the case does not know yet (its field was cleared by
            // hand, written by an older version, or refused by the database): record it rather
            // than send it twice.
            const sentAt = fromDbInstant(outboxRow.sent_at) ?? ctx.now;
            try {
              await transactionOf(db, dialect, async (trx) => {
                const changed = await markCaseEmailSent(trx, dialect, row.id, sentAt);
                if (changed > 0) {
                  await audit(trx, ctx, auditEntry(item, outboxRow, sentAt, { recordedFromOutbox: true }));
                  await source.afterSent(trx, [{ ...item, subject: message.subject, sentAt }]);
                }
              });
            } catch (err) {
              const reason = refusedRowError(err);
              if (reason === undefined) throw err;
              notRecorded(row, reason);
              break;
            }
            report(null, `  ${label(row)}: already sent ${formatUtc(sentAt)} (outbox ${outboxRow.id}); recorded on the case`);
            break;
          }
          case 'deferred':
            report(null, `  deferred ${label(row)} to ${to}: ${outcome.error}`);
            break;
          case 'failed':
            if (outcome.earlier) report(null, `  ${label(row)}: failed in an earlier run, not retried (outbox ${outboxRow.id}): ${outcome.error}`);
            else report('failed', `  FAILED ${label(row)} to ${to}: ${outcome.error}`);
            break;
        }
      },
    });
    if (result.stopped) stopped = result.stopped;
  };

  const printReport = (limited: boolean) => {
    out.line('');
    const verb = dryRun ? 'Would send' : 'Sent';
    if (due === 0) {
      out.line('No emails due.');
    } else {
      out.line(`${verb} ${plural(mail.sent, 'email')}`);
      if (!dryRun) out.line(`  - deferred for retry: ${mail.deferred}`);
      if (!dryRun) out.line(`  - failed: ${mail.failed}`);
      out.line(`  - skipped without address: ${skippedNoAddress}`);
      if (skippedInvalidAddress > 0) out.line(`  - skipped, invalid address: ${skippedInvalidAddress}`);
      if (mail.failedEarlier > 0) out.line(`  - failed in an earlier run, not retried: ${mail.failedEarlier}`);
      if (mail.alreadySent > 0) out.line(`  - already sent earlier: ${mail.alreadySent}`);
    }
    const hidden = listed.skipped.hidden + listed.failed.hidden;
    if (hidden > 0) out.line(`(${hidden} more skipped or failed cases not listed; --verbose lists them all)`);
    if (stopped) out.line(`Stopped early: ${stopped.error}. Unsent messages stay pending for the next run.`);
    if (limited) out.line('Stopped at --limit; more emails may be due for the next run.');
    if (mail.deferred > 0) out.line('Deferred messages stay pending in email_outbox and are retried by the next run.');
    out.line('');
    out.line(`Scheduled email sending completed at ${formatUtc(ctx.completedAt())}`);
  };

  const summary = (limited: boolean) => ({
    due,
    sent: mail.sent,
    deferred: mail.deferred,
    failed: mail.failed,
    failedEarlier: mail.failedEarlier,
    alreadySent: mail.alreadySent,
    skippedNoAddress,
    skippedInvalidAddress,
    backend: dryRun ? (ctx.config.email.backend ?? null) : (mailer?.backend ?? null),
    stoppedBy: stopped?.error ?? null,
    limited,
  });
  ctx.reportProgress(() => summary(false));
  let totals;
  try {
    totals = await ctx.eachPage<MailCase>({
      label: 'sending scheduled emails',
      autoSize: PAGE_SIZE,
      select: (afterId, size) => source.select(afterId, size),
      handle: async (rows) => {
        due += rows.length;
        const page: Pending[] = [];
        for (const r of await source.resolve(rows)) {
          const row = r.row;
          if ('skip' in r) {
            if (r.skip === 'no-address') skippedNoAddress += 1;
            else skippedInvalidAddress += 1;
            report('skipped', `  skipped ${label(row)}: ${r.reason}`);
            continue;
          }
          const to = r.to;
          const message = source.message(row, to);
          if (dryRun) await preview(row, to, message);
          else page.push({ row, to, message });
        }
        if (page.length > 0) await sendPage(page);
        return stopped ? 'stop' : undefined;
      },
    });
  } catch (err) {
    // Stopped (time limit, signal, database): what was sent is committed; say how far we got.
    printReport(false);
    throw err;
  }

  if (stopped) {
    // The message in hand went back to pending; the rest were not tried: the next run sends them.
    out.error(stopped.error, 'nothing more was sent; unsent messages stay pending for the next run');
  }
  printReport(totals.limited);

  return { summary: summary(totals.limited), failed: mail.failed, exitCode: stopped ? unreachableExitCode(stopped.cause) : undefined };
};

export default sendScheduledEmails;
