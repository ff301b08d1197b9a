/**
 * Entry point of the mail layer, loaded only when a job sends mail: createMailer() builds the
 * transport of EMAIL_BACKEND (importing nodemailer then, not before) behind the outbox state
 * machine, and sendNow() is the one-call way to send a message through the outbox.
 */
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import type { DeliveryOutcome, Mailer, OnSent, OutboxRow, OutgoingMessage } from './mailer.js';
import { refuseInvalidRecipients } from './address.js';
import { OutboxMailer } from './outbox.js';
import { createTransport, type ConsoleSink } from './transport.js';

export type { DeliveryOutcome, Mailer, OnSent, OutboxRow, OutgoingMessage } from './mailer.js';

export interface MailerOptions {
  /** Where EMAIL_BACKEND=console prints: the run's Output, or a stream (default stdout). */
  console?: ConsoleSink;
  /** Base for a relative EMAIL_FILE_PATH. */
  cwd?: string;
  /** Clock for outbox timestamps (tests). */
  clock?: () => Date;
}

/** The variables an operator sets to make mail work, for the error when none is configured. */
export const MAIL_SETUP_HINT =
  'set EMAIL_HOST (and EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS or EMAIL_USE_SSL, DEFAULT_FROM_EMAIL), or EMAIL_BACKEND=console to print messages, or EMAIL_BACKEND=file with EMAIL_FILE_PATH to write them to files';

export async function createMailer(config: Config, db: Knex, options: MailerOptions = {}): Promise<Mailer> {
  if (!config.email.backend) {
    throw new ConfigError('mail is due to be sent but no mail backend is configured', MAIL_SETUP_HINT);
  }
  const transport = await createTransport(config.email, { console: options.console, cwd: options.cwd });
  return new OutboxMailer({
    db,
    dialect: config.database.dialect,
    transport: refuseInvalidRecipients(transport),
    from: config.email.from,
    clock: options.clock,
  });
}

/**
 * Send one message now, through the outbox: enqueue (or find it by its dedupe key) and deliver.
 * A message already sent under the same key is not sent again (`already-sent`). `onSent` runs in
 * the transaction that marks the row sent.
 */
export async function sendNow(
  mailer: Mailer,
  db: Knex,
  message: OutgoingMessage,
  runId: number | null,
  onSent?: OnSent,
): Promise<DeliveryOutcome & { outboxId: number }> {
  const row: OutboxRow = await mailer.enqueue(db, message, runId);
  const outcome = await mailer.deliver(row, onSent);
  return { ...outcome, outboxId: row.id };
}
