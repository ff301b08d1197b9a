/**
 * email_outbox queries: the persistent half of the mail layer's state machine (src/mail/outbox.ts
 * drives it). Every transition is a conditional UPDATE on the status it expects, so two runs that
 * somehow meet on one row cannot both claim it, and a `sent` row never leaves `sent`.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import type { OutboxRow } from '../mail/mailer.js';
import { OUTBOX_REDACTED } from './housekeeping.js';
import { instantPerId, toDbInstant } from './time.js';
import { ownTables } from './schema.js';

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
  return normalise(await db(ownTables(db).emailOutbox).where({ dedupe_key: dedupeKey }).first(COLUMNS));
}

export async function findOutboxById(db: Db, id: number): Promise<OutboxRow | undefined> {
  return normalise(await db(ownTables(db).emailOutbox).where({ id }).first(COLUMNS));
}

/**
 * Insert the row unless one with its dedupe key exists, then return whichever row holds the key.
 * ON CONFLICT DO NOTHING (INSERT IGNORE on MySQL) keeps a concurrent insert from failing the
 * caller's transaction.
 */
/** A new message's email_outbox row: `pending`, no attempt yet, its Message-ID chosen now. */
function outboxInsertRow(dialect: Dialect, row: NewOutboxRow) {
  const now = toDbInstant(dialect, row.now);
  return {
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
  };
}

export async function insertOrFindOutbox(db: Db, dialect: Dialect, row: NewOutboxRow): Promise<OutboxRow> {
  await db(ownTables(db).emailOutbox)
    .insert(outboxInsertRow(dialect, row))
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
  const n = await db(ownTables(db).emailOutbox)
    .where({ id, status: 'failed' })
    // A row prune-history has cleared is closed for good: its recipient is no longer known, so a
    // "different recipient" cannot be told from the same one, and the message is not sent again.
    .where((notPruned) => notPruned.whereNull('to_address').orWhereNot('to_address', OUTBOX_REDACTED))
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
  const n = await db(ownTables(db).emailOutbox)
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
  const n = await trx(ownTables(trx).emailOutbox)
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
  await db(ownTables(db).emailOutbox)
    .where({ id, status: 'sending' })
    .update({ status, last_error: error.slice(0, 4000), updated_at: toDbInstant(dialect, now) });
}

/** Rows per multi-row INSERT / IN list: well under every driver's bound-parameter limit (SQLite: 32766). */
const CHUNK = 500;

function chunks<T>(items: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export async function findOutboxByIds(db: Db, ids: number[]): Promise<OutboxRow[]> {
  const rows: OutboxRow[] = [];
  for (const part of chunks(ids)) {
    for (const r of await db(ownTables(db).emailOutbox).whereIn('id', part).select(COLUMNS)) rows.push(normalise(r)!);
  }
  return rows;
}

/**
 * insertOrFindOutbox for many messages at once: one multi-row INSERT that skips every key already
 * present (ON CONFLICT DO NOTHING / INSERT IGNORE), then one SELECT of the rows holding the keys.
 * Returns the rows in the order of `rows`.
 */
export async function insertOrFindOutboxMany(db: Db, dialect: Dialect, rows: NewOutboxRow[]): Promise<OutboxRow[]> {
  const byKey = new Map<string, OutboxRow>();
  for (const part of chunks(rows)) {
    await db(ownTables(db).emailOutbox)
      .insert(part.map((row) => outboxInsertRow(dialect, row)))
      .onConflict('dedupe_key')
      .ignore();
    const found = await db(ownTables(db).emailOutbox)
      .whereIn(
        'dedupe_key',
        part.map((r) => r.dedupeKey),
      )
      .select(COLUMNS);
    for (const r of found) byKey.set(String(r.dedupe_key), normalise(r)!);
  }
  return rows.map((row) => {
    const found = byKey.get(row.dedupeKey);
    if (!found) throw new Error(`email_outbox row for ${row.dedupeKey} vanished right after it was written`);
    return found;
  });
}

/**
 * claimOutbox for many rows in one UPDATE: pending/sending → sending, attempts + 1. Returns the ids
 * now `sending`. Rows without a Message-ID (written by another program) get one first, one by one.
 * Two runs of one job never claim at the same time (the job lock); the status condition keeps a
 * `sent` or `failed` row from being claimed at all.
 */
export async function claimOutboxMany(
  db: Db,
  dialect: Dialect,
  rows: OutboxRow[],
  newMessageId: () => string,
  now: Date,
): Promise<Set<number>> {
  for (const row of rows) {
    if (!row.message_id) {
      await db(ownTables(db).emailOutbox).where({ id: row.id }).whereNull('message_id').update({ message_id: newMessageId() });
    }
  }
  const claimed = new Set<number>();
  for (const part of chunks(rows.map((r) => r.id))) {
    await db(ownTables(db).emailOutbox)
      .whereIn('id', part)
      .whereIn('status', ['pending', 'sending'])
      .update({ status: 'sending', attempts: db.raw('attempts + 1'), updated_at: toDbInstant(dialect, now) });
    const sending = await db(ownTables(db).emailOutbox).whereIn('id', part).where('status', 'sending').select('id');
    for (const r of sending) claimed.add(Number(r.id));
  }
  return claimed;
}

/**
 * sending → sent for a group of accepted messages, each with the instant its server accepted it,
 * in one UPDATE. Run it in the transaction of the caller's domain update. Returns rows changed.
 */
export async function markOutboxSentMany(trx: Db, dialect: Dialect, items: { id: number; sentAt: Date }[]): Promise<number> {
  let changed = 0;
  for (const part of chunks(items, 200)) {
    const at = instantPerId(trx, dialect, part.map((i) => ({ id: i.id, at: i.sentAt })));
    changed += await trx(ownTables(trx).emailOutbox)
      .whereIn(
        'id',
        part.map((i) => i.id),
      )
      .where('status', 'sending')
      .update({ status: 'sent', sent_at: at, updated_at: at, last_error: null });
  }
  return changed;
}

/** Claimed rows that were never handed to the server (the run stopped first): sending → pending. */
export async function releaseOutboxClaims(db: Db, dialect: Dialect, ids: number[], now: Date): Promise<void> {
  for (const part of chunks(ids)) {
    // The attempt counted by the claim never happened.
    await db(ownTables(db).emailOutbox)
      .whereIn('id', part)
      .where('status', 'sending')
      .update({ status: 'pending', attempts: db.raw('CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END'), updated_at: toDbInstant(dialect, now) });
  }
}
