/**
 * email_outbox queries: the persistent half of the mail layer's state machine (src/mail/outbox.ts
 * drives it). Every transition is a conditional UPDATE on the status it expects, so two runs that
 * somehow meet on one row cannot both claim it, and a `sent` row never leaves `sent`.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import type { OutboxRow } from '../mail/mailer.js';
import { toDbInstant } from './time.js';

const COLUMNS = [
  'id',
  'dedupe_key',
  'kind',
  'to_address',
  'subject',
  'body_text',
  'body_html',
  'status',
  'attempts',
  'last_error',
  'message_id',
  'sent_at',
] as const;

export interface NewOutboxRow {
  dedupeKey: string;
  kind: string;
  to: string;
  subject: string;
  text: string;
  html: string | null;
  messageId: string;
  runId: number | null;
  now: Date;
}

type Db = Knex | Knex.Transaction;

function normalise(row: Record<string, unknown> | undefined): OutboxRow | undefined {
  if (!row) return undefined;
  return { ...(row as unknown as OutboxRow), id: Number(row.id), attempts: Number(row.attempts ?? 0) };
}

export async function findOutboxByKey(db: Db, dedupeKey: string): Promise<OutboxRow | undefined> {
  return normalise(await db('email_outbox').where({ dedupe_key: dedupeKey }).first(COLUMNS));
}

export async function findOutboxById(db: Db, id: number): Promise<OutboxRow | undefined> {
  return normalise(await db('email_outbox').where({ id }).first(COLUMNS));
}

/**
 * Insert the row unless one with its dedupe key exists, then return whichever row holds the key.
 * ON CONFLICT DO NOTHING (INSERT IGNORE on MySQL) keeps a concurrent insert from failing the
 * caller's transaction.
 */
export async function insertOrFindOutbox(db: Db, dialect: Dialect, row: NewOutboxRow): Promise<OutboxRow> {
  const now = toDbInstant(dialect, row.now);
  await db('email_outbox')
    .insert({
      dedupe_key: row.dedupeKey,
      kind: row.kind,
      to_address: row.to,
      subject: row.subject,
      body_text: row.text,
      body_html: row.html,
      status: 'pending',
      attempts: 0,
      message_id: row.messageId,
      created_at: now,
      updated_at: now,
      run_id: row.runId,
    })
    .onConflict('dedupe_key')
    .ignore();
  const found = await findOutboxByKey(db, row.dedupeKey);
  if (!found) throw new Error(`email_outbox row for ${row.dedupeKey} vanished right after it was written`);
  return found;
}

/**
 * A `failed` row whose recipient has since been corrected gets a second chance: it becomes a new
 * message (new content, new Message-ID) under the same dedupe key.
 */
export async function requeueFailedOutbox(db: Db, dialect: Dialect, id: number, row: NewOutboxRow): Promise<boolean> {
  const n = await db('email_outbox')
    .where({ id, status: 'failed' })
    .update({
      to_address: row.to,
      subject: row.subject,
      body_text: row.text,
      body_html: row.html,
      message_id: row.messageId,
      status: 'pending',
      last_error: null,
      updated_at: toDbInstant(dialect, row.now),
      run_id: row.runId,
    });
  return n === 1;
}

/**
 * pending/sending → sending, attempts + 1. A row found `sending` was left by a run that crashed
 * mid-delivery; claiming it again is how it gets resent (with the Message-ID it already has).
 * A row without a Message-ID (written by another program) gets the one offered here.
 */
export async function claimOutbox(db: Db, dialect: Dialect, id: number, fallbackMessageId: string, now: Date): Promise<boolean> {
  const n = await db('email_outbox')
    .where({ id })
    .whereIn('status', ['pending', 'sending'])
    .update({
      status: 'sending',
      attempts: db.raw('attempts + 1'),
      message_id: db.raw('COALESCE(message_id, ?)', [fallbackMessageId]),
      updated_at: toDbInstant(dialect, now),
    });
  return n === 1;
}

/** sending → sent. Run it in the transaction of the caller's domain update. */
export async function markOutboxSent(trx: Db, dialect: Dialect, id: number, sentAt: Date): Promise<boolean> {
  const at = toDbInstant(dialect, sentAt);
  const n = await trx('email_outbox')
    .where({ id, status: 'sending' })
    .update({ status: 'sent', sent_at: at, updated_at: at, last_error: null });
  return n === 1;
}

/** sending → pending (temporary failure) or failed (permanent), with what the server said. */
export async function markOutboxUnsent(
  db: Db,
  dialect: Dialect,
  id: number,
  status: 'pending' | 'failed',
  error: string,
  now: Date,
): Promise<void> {
  await db('email_outbox')
    .where({ id, status: 'sending' })
    .update({ status, last_error: error.slice(0, 4000), updated_at: toDbInstant(dialect, now) });
}
