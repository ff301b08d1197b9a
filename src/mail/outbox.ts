/**
 * The outbox state machine of jobs.md, on top of a transport:
 *
 *   enqueue:  (no row) → pending, with a Message-ID chosen once, here
 *   deliver:  pending | sending → sending (attempts + 1) → SMTP →
 *               accepted          → sent, in ONE transaction with the caller's onSent
 *               4xx / lost        → pending (next run retries, same Message-ID)
 *               5xx               → failed, with the server's answer
 *               not reachable     → pending
 *             sent → nothing (already-sent);  failed → nothing (reported, not retried)
 *
 * A crash between the server's "250 accepted" and the commit leaves the row `sending`; the next
 * run claims it again and resends it with the same Message-ID, so at most that one message can be
 * repeated, and a receiving system can recognise the repeat.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import {
  claimOutbox,
  findOutboxById,
  insertOrFindOutbox,
  markOutboxSent,
  markOutboxUnsent,
  requeueFailedOutbox,
  type NewOutboxRow,
} from '../db/outbox.js';
import { redact } from '../errors.js';
import type { DeliveryOutcome, Mailer, OnSent, OutboxRow, OutgoingMessage } from './mailer.js';
import type { Transport } from './transport.js';

export interface OutboxMailerInit {
  db: Knex;
  dialect: Dialect;
  transport: Transport;
  from: string;
  /** The clock for updated_at / sent_at: when things really happened, not the run's --now. */
  clock?: () => Date;
}

/** The domain of the From address, for Message-IDs: `"Ops" <ops@example.org>` → example.org. */
export function messageIdDomain(from: string): string {
  const m = /@([A-Za-z0-9.-]+)/.exec(from);
  return m?.[1]?.toLowerCase() || 'localhost';
}

/** A fresh, globally unique Message-ID: `<ontime.<time>.<random>@<from domain>>`. */
export function newMessageId(from: string): string {
  return `<ontime.${Date.now().toString(36)}.${randomBytes(9).toString('hex')}@${messageIdDomain(from)}>`;
}

export class OutboxMailer implements Mailer {
  readonly backend: string;
  private readonly clock: () => Date;

  constructor(private readonly init: OutboxMailerInit) {
    this.backend = init.transport.backend;
    this.clock = init.clock ?? (() => new Date());
  }

  async enqueue(db: Knex | Knex.Transaction, message: OutgoingMessage, runId: number | null): Promise<OutboxRow> {
    const fresh: NewOutboxRow = {
      dedupeKey: message.dedupeKey,
      kind: message.kind,
      to: message.to,
      subject: message.subject,
      text: message.text,
      html: message.html ?? null,
      messageId: newMessageId(this.init.from),
      runId,
      now: this.clock(),
    };
    const row = await insertOrFindOutbox(db, this.init.dialect, fresh);
    // A permanent failure is not retried by itself; but once the recipient has been corrected it
    // is a different message and gets its chance.
    if (row.status === 'failed' && row.to_address !== message.to) {
      if (await requeueFailedOutbox(db, this.init.dialect, row.id, fresh)) {
        return (await findOutboxById(db, row.id))!;
      }
    }
    return row;
  }

  async deliver(row: OutboxRow, onSent?: OnSent): Promise<DeliveryOutcome> {
    const { db, dialect, transport } = this.init;
    const claimed = await claimOutbox(db, dialect, row.id, newMessageId(this.init.from), this.clock());
    const current = await findOutboxById(db, row.id);
    if (!current) throw new Error(`email_outbox row ${row.id} disappeared while it was being delivered`);
    if (!claimed) {
      if (current.status === 'sent') return { status: 'already-sent', messageId: current.message_id };
      return { status: 'failed', error: current.last_error ?? 'failed in an earlier run', earlier: true };
    }
    const messageId = current.message_id!;
    const result = await transport.send({
      from: this.init.from,
      to: current.to_address ?? '',
      subject: current.subject ?? '',
      text: current.body_text ?? '',
      html: current.body_html,
      messageId,
      headers: { 'X-Ontime-Outbox': String(current.id), 'Auto-Submitted': 'auto-generated' },
      outboxId: current.id,
    });
    if (result.ok) {
      const sentAt = this.clock();
      await db.transaction(async (trx) => {
        await markOutboxSent(trx, dialect, current.id, sentAt);
        await onSent?.(trx, sentAt);
      });
      return { status: 'sent', messageId };
    }
    const error = redact(result.error);
    await markOutboxUnsent(db, dialect, current.id, result.kind === 'failed' ? 'failed' : 'pending', error, this.clock());
    if (result.kind === 'unreachable') return { status: 'unreachable', error, cause: result.cause };
    return result.kind === 'failed' ? { status: 'failed', error } : { status: 'deferred', error };
  }

  verify() {
    return this.init.transport.verify();
  }

  close(): Promise<void> {
    return this.init.transport.close();
  }
}
