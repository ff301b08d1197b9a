/**
 * send-scheduled-emails: the notification email of every case whose scheduled email date has come
 * (actual_email_sent_date null, scheduled_email_date <= today, not on hold today), each through
 * the outbox, so a message is sent at most once per (case, scheduled date) and a crash repeats at
 * most the one message in flight, with the same Message-ID.
 *
 * Why not ctx.eachBatch: its apply() runs the whole batch inside one database transaction, and an
 * SMTP conversation must never happen inside a database transaction (a slow server would hold row
 * locks for minutes, and the commit of "sent" must follow the server's acceptance, not enclose
 * it). So this job pages through due cases itself (keyset, --batch-size, --limit) and gives each
 * message its own short transactions inside the mail layer: claim, then mark sent together with
 * the case's actual_email_sent_date and its audit row.
 */
import type { Knex } from 'knex';
import { audit } from '../db/audit.js';
import { dueCaseEmails, markCaseEmailSent, type DueCaseEmail } from '../db/case-emails.js';
import { findOutboxByKey } from '../db/outbox.js';
import { fromDbDay, fromDbInstant } from '../db/time.js';
import { ExitCode } from '../errors.js';
import { formatUtc, plural } from '../output.js';
import type { Mailer, OutgoingMessage } from '../mail/mailer.js';
import { renderCaseNotification } from '../mail/templates/case-notification.js';
import type { JobContext, JobHandler } from '../runner/types.js';

/** Lines listed without --verbose per kind of problem; --verbose lists them all. */
const LIST_CAP = 20;

interface Counts {
  due: number;
  sent: number;
  deferred: number;
  failed: number;
  failedEarlier: number;
  alreadySent: number;
  skippedNoAddress: number;
}

function caseMessage(ctx: JobContext, row: DueCaseEmail, to: string): OutgoingMessage {
  const day = fromDbDay(row.scheduled_email_date)!;
  const rendered = renderCaseNotification({
    caseId: row.id,
    reference: row.reference,
    title: row.title,
    contactName: row.contact_name,
    siteUrl: ctx.config.siteUrl,
  });
  return {
    dedupeKey: `case-email:${row.id}:${day}`,
    kind: 'case-notification',
    to,
    subject: rendered.subject,
    text: rendered.text,
    html: rendered.html,
  };
}

const sendScheduledEmails: JobHandler = async (ctx) => {
  const { out, dryRun, db, dialect } = ctx;
  const counts: Counts = { due: 0, sent: 0, deferred: 0, failed: 0, failedEarlier: 0, alreadySent: 0, skippedNoAddress: 0 };
  const listed = { skipped: 0, failed: 0 };
  /** Set when the transport could not take any message: the run stops there. */
  let stopped: { error: string; cause: 'connect' | 'auth' | 'config' } | undefined;
  let mailer: Mailer | undefined;
  let limited = false;

  // A due case listed always (capped) or only under --verbose.
  const report = (kind: 'skipped' | 'failed' | null, text: string) => {
    if (kind && (listed[kind] < LIST_CAP || ctx.verbose)) {
      listed[kind] += 1;
      out.line(text);
    } else if (!kind) {
      out.detail(text);
    }
  };
  const label = (row: DueCaseEmail) => `case ${row.reference} (id ${row.id})`;

  out.line(ctx.startLine('scheduled email sending'));
  out.line('');
  out.heading('--- Scheduled Emails ---');

  if (dryRun && !ctx.config.email.backend) {
    out.warn('no mail backend is configured (EMAIL_HOST, or EMAIL_BACKEND=console|file): a real run with mail due would exit 78');
  }

  const limit = ctx.remaining();
  let processed = 0;
  let afterId = 0;

  const handle = async (row: DueCaseEmail) => {
    const to = row.contact_email?.trim();
    if (!to) {
      counts.skippedNoAddress += 1;
      report('skipped', `  skipped ${label(row)}: no contact_email`);
      return;
    }
    const message = caseMessage(ctx, row, to);

    if (dryRun) {
      // What a real run would do with it, from the outbox's point of view; nothing is written.
      const existing = await findOutboxByKey(db, message.dedupeKey);
      if (existing?.status === 'sent') {
        counts.alreadySent += 1;
        out.line(`  ${label(row)}: already sent (outbox ${existing.id}); would only record it on the case`);
      } else if (existing?.status === 'failed' && existing.to_address === to) {
        counts.failedEarlier += 1;
        out.line(`  ${label(row)}: failed earlier, would not retry: ${existing.last_error ?? ''}`);
      } else {
        counts.sent += 1;
        out.line(`  would send to ${to}: ${message.subject}`);
      }
      return;
    }

    mailer ??= await ctx.mailer();
    const outboxRow = await mailer.enqueue(db, message, ctx.runId);
    const recordOnCase = async (trx: Knex.Transaction, sentAt: Date, extra: Record<string, unknown>) => {
      const changed = await markCaseEmailSent(trx, dialect, row.id, sentAt);
      if (changed === 0) return;
      await audit(trx, ctx, {
        action: 'case.email_sent',
        subjectType: 'case',
        subjectId: row.id,
        details: {
          outboxId: outboxRow.id,
          messageId: outboxRow.message_id,
          scheduledEmailDate: fromDbDay(row.scheduled_email_date),
          sentAt: sentAt.toISOString(),
          ...extra,
        },
      });
    };
    const outcome = await mailer.deliver(outboxRow, (trx, sentAt) => recordOnCase(trx, sentAt, {}));
    switch (outcome.status) {
      case 'sent':
        counts.sent += 1;
        report(null, `  sent ${label(row)} to ${to}: ${message.subject} (Message-ID ${outcome.messageId})`);
        break;
      case 'already-sent': {
        // The outbox says it went out, the case does not know yet (its field was cleared by hand,
        // or written by an older version): record it rather than send it twice.
        counts.alreadySent += 1;
        const sentAt = fromDbInstant(outboxRow.sent_at) ?? ctx.now;
        await db.transaction((trx) => recordOnCase(trx, sentAt, { recordedFromOutbox: true }));
        report(null, `  ${label(row)}: already sent ${formatUtc(sentAt)} (outbox ${outboxRow.id}); recorded on the case`);
        break;
      }
      case 'deferred':
        counts.deferred += 1;
        report(null, `  deferred ${label(row)} to ${to}: ${outcome.error}`);
        break;
      case 'failed':
        if (outcome.earlier) {
          counts.failedEarlier += 1;
          report(null, `  ${label(row)}: failed in an earlier run, not retried (outbox ${outboxRow.id}): ${outcome.error}`);
        } else {
          counts.failed += 1;
          report('failed', `  FAILED ${label(row)} to ${to}: ${outcome.error}`);
        }
        break;
      case 'unreachable':
        stopped = { error: outcome.error, cause: outcome.cause };
        break;
    }
  };

  const printReport = () => {
    out.line('');
    const verb = dryRun ? 'Would send' : 'Sent';
    if (counts.due === 0) {
      out.line('No emails due.');
    } else {
      out.line(`${verb} ${plural(counts.sent, 'email')}`);
      if (!dryRun) out.line(`  - deferred for retry: ${counts.deferred}`);
      if (!dryRun) out.line(`  - failed: ${counts.failed}`);
      out.line(`  - skipped without address: ${counts.skippedNoAddress}`);
      if (counts.failedEarlier > 0) out.line(`  - failed in an earlier run, not retried: ${counts.failedEarlier}`);
      if (counts.alreadySent > 0) out.line(`  - already sent earlier: ${counts.alreadySent}`);
    }
    const hidden = counts.skippedNoAddress + counts.failed - listed.skipped - listed.failed;
    if (hidden > 0) out.line(`(${hidden} more skipped or failed cases not listed; --verbose lists them all)`);
    if (stopped) out.line(`Stopped early: ${stopped.error}. Unsent messages stay pending for the next run.`);
    if (limited) out.line('Stopped at --limit; more emails may be due for the next run.');
    if (counts.deferred > 0) out.line('Deferred messages stay pending in email_outbox and are retried by the next run.');
    out.line('');
    out.line(`Scheduled email sending completed at ${formatUtc(ctx.completedAt())}`);
  };

  try {
    pages: for (;;) {
      const size = Math.min(ctx.batchSize, limit - processed);
      if (size <= 0) {
        limited = true;
        break;
      }
      const rows = await dueCaseEmails(db, dialect, ctx.today, afterId, size);
      if (rows.length === 0) break;
      for (const row of rows) {
        // Between messages, not only between pages: a page of SMTP conversations can take minutes,
        // and a time limit or SIGTERM should stop the run after the message in hand.
        if (!dryRun) await ctx.checkpoint();
        processed += 1;
        counts.due += 1;
        afterId = Number(row.id);
        await handle(row);
        if (stopped) break pages;
      }
      if (rows.length < size) break;
    }
  } catch (err) {
    // Stopped (time limit, signal, database): what was sent is committed; say how far we got.
    printReport();
    throw err;
  }

  if (stopped) {
    // The message in hand went back to pending; the rest were not tried: the next run sends them.
    out.error(stopped.error, 'nothing more was sent; unsent messages stay pending for the next run');
  }
  printReport();

  const exitCode = stopped ? (stopped.cause === 'connect' ? ExitCode.unavailable : ExitCode.config) : undefined;
  return {
    summary: {
      ...counts,
      backend: dryRun ? (ctx.config.email.backend ?? null) : (mailer?.backend ?? null),
      stoppedBy: stopped?.error ?? null,
      limited,
    },
    failed: counts.failed,
    exitCode,
  };
};

export default sendScheduledEmails;
