/**
 * Where send-scheduled-emails' cases, recipients and messages come from. `ontime`: the cases whose
 * scheduled email day has come, to contact_email. `status rule` (profiles/types.ts
 * StatusReleaseRule; the advisor portal): a retry sweep over released cases whose mail has not
 * gone, to the case's user and every linked user in one message, rendered with the profile's
 * computed fields, and the profile's rows added when the server accepted it. Both go through the
 * same outbox, dedupe and SMTP handling (index.ts).
 */
import type { Knex } from 'knex';
import { dueCaseEmails, type DueCaseEmail } from '../../db/case-emails.js';
import { computedFields, countMailPending, insertRows, settingsSwitch, recipientsOf, selectMailPending, statusRule, type StatusCaseRow } from '../../db/status-release.js';
import { fromDbDay } from '../../db/time.js';
import { ADDRESS_SEPARATOR, singleAddress } from '../../mail/address.js';
import type { OutgoingMessage } from '../../mail/mailer.js';
import { caseNotificationValues, renderCaseNotification } from '../../mail/templates/case-notification.js';
import { profileTemplate } from '../../mail/templates/profile.js';
import { formatUtc, plural } from '../../output.js';
import type { JobContext, JobResult } from '../../runner/types.js';

const MAX_TO_LENGTH = 254;

/** A case to mail; `app` holds the application row under a status rule. */
export type MailCase = DueCaseEmail & { app?: StatusCaseRow };

export type Resolved = { row: MailCase; to: string } | { row: MailCase; skip: 'no-address' | 'invalid'; reason: string };

export interface MailSource {
  select(afterId: number, size: number): Promise<MailCase[]>;
  resolve(rows: MailCase[]): Promise<Resolved[]>;
  message(row: MailCase, to: string): OutgoingMessage;
  /** In the transaction that records accepted messages on their cases (only cases it changed). */
  afterSent(trx: Knex.Transaction, sent: Array<{ row: MailCase; to: string; subject: string; sentAt: Date }>): Promise<void>;
}

export function ontimeSource(ctx: JobContext): MailSource {
  return {
    select: (afterId, size) => dueCaseEmails(ctx.db, ctx.dialect, ctx.today, afterId, size, ctx.shard),
    async resolve(rows) {
      return rows.map((row): Resolved => {
        if (!row.contact_email?.trim()) return { row, skip: 'no-address', reason: 'no contact_email' };
        const to = singleAddress(row.contact_email);
        return to ? { row, to } : { row, skip: 'invalid', reason: 'invalid address in contact_email' };
      });
    },
    message(row, to) {
      const day = fromDbDay(row.scheduled_email_date)!;
      const rendered = renderCaseNotification(
        { caseId: row.id, reference: row.reference, title: row.title, contactName: row.contact_name, siteUrl: ctx.config.siteUrl },
        profileTemplate(ctx.schema.profile, 'case-notification'),
      );
      return { dedupeKey: `case-email:${row.id}:${day}`, kind: 'case-notification', to, subject: rendered.subject, text: rendered.text, html: rendered.html };
    },
    afterSent: async () => {},
  };
}

export function statusRuleSource(ctx: JobContext): MailSource {
  const { cases, rule } = statusRule(ctx.db);
  const template = profileTemplate(ctx.schema.profile, 'case-notification');
  return {
    async select(afterId, size) {
      const rows = await selectMailPending(ctx.db, afterId, size);
      return rows.map((app) => ({
        id: app.id,
        reference: cases.reference ? String(app[cases.reference] ?? app.id) : String(app.id),
        title: '',
        contact_name: null,
        contact_email: null,
        scheduled_email_date: null,
        app,
      }));
    },
    async resolve(rows) {
      const found = await recipientsOf(ctx.db, rows.map((r) => r.app!));
      return rows.map((row): Resolved => {
        const { user, linked } = found.get(row.id)!;
        if (!user) return { row, skip: 'no-address', reason: `the case's user has no ${rule.recipients.email}` };
        const all = [...new Set([user, ...linked])];
        const bad = all.filter((a) => singleAddress(a) !== a);
        if (bad.length > 0) return { row, skip: 'invalid', reason: `invalid address among the recipients (${bad.length} of ${all.length})` };
        const to = all.join(ADDRESS_SEPARATOR);
        // The outbox keeps the list in to_address (254 characters) on every database.
        if (to.length > MAX_TO_LENGTH) return { row, skip: 'invalid', reason: `the ${all.length} recipients do not fit in one outbox row (${to.length} > ${MAX_TO_LENGTH} characters)` };
        return { row, to };
      });
    },
    message(row, to) {
      const input = { caseId: row.id, reference: row.reference, title: row.reference, contactName: null, siteUrl: ctx.config.siteUrl };
      const rendered = template ? template.render({ ...caseNotificationValues(input), ...computedFields(rule, row.app!), recipients: to }) : renderCaseNotification(input);
      // Per case, not per day: the sweep mails a released case once, whenever it runs.
      return { dedupeKey: `case-email:${row.id}:released`, kind: 'case-notification', to, subject: rendered.subject, text: rendered.text, html: rendered.html };
    },
    async afterSent(trx, sent) {
      await insertRows(
        trx,
        ctx.dialect,
        rule,
        rule.onMail,
        sent.map((s) => ({ row: s.row.app!, extra: { recipients: s.to, subject: s.subject } })),
        sent[0]?.sentAt ?? ctx.now,
      );
    },
  };
}

/**
 * Under a status rule, the settings row's email switch: off (or no row) → nothing is sent, and
 * the cases waiting for their mail are counted and reported; they are mailed once it is on again.
 */
export async function emailSwitchOff(ctx: JobContext): Promise<JobResult | undefined> {
  const on = await settingsSwitch(ctx.db, 'email');
  if (on) return undefined;
  const s = statusRule(ctx.db).rule.switches;
  const waiting = await countMailPending(ctx.db);
  ctx.out.line(
    on === null
      ? `No settings row in ${s.table}: email notifications are treated as disabled.`
      : `Email notifications are disabled (${s.table}.${s.email} is false): nothing sent.`,
  );
  ctx.out.line(`Skipped, notifications disabled: ${plural(waiting, 'released case')} waiting for the mail (sent by a run once they are enabled)`);
  ctx.out.line('');
  ctx.out.line(`Scheduled email sending completed at ${formatUtc(ctx.completedAt())}`);
  return { summary: { due: waiting, sent: 0, emailNotificationsDisabled: true, skippedNotificationsDisabled: waiting } };
}
