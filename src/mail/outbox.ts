/**
 * The outbox state machine of docs/reference/jobs.md, on top of a transport:
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
 * run claims it again and resends it with the same Message-ID, so a receiving system can
 * recognise the repeat. deliver() has one message in flight; deliverMany() has at most the
 * transport's concurrency in conversation plus SENT_GROUP_MAX accepted and waiting for their
 * commit, which bounds what a crash can repeat.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import {
  claimOutbox,
  claimOutboxMany,
  findOutboxById,
  findOutboxByIds,
  insertOrFindOutbox,
  insertOrFindOutboxMany,
  markOutboxSentMany,
  markOutboxUnsent,
  releaseOutboxClaims,
  requeueFailedOutbox,
  type NewOutboxRow,
} from '../db/outbox.js';
import { transactionOf } from '../db/transaction.js';
import { redact, refusedRowError } from '../errors.js';
import type {
  AcceptedMessage,
  DeliverManyOptions,
  DeliverManyResult,
  DeliveryOutcome,
  Mailer,
  OnSent,
  OutboxRow,
  OutgoingMessage,
} from './mailer.js';
import { newMessageId } from './message-id.js';
import type { Transport } from './transport.js';

export interface OutboxMailerInit {
  db: Knex;
  dialect: Dialect;
  transport: Transport;
  from: string;
  /** The clock for updated_at / sent_at: when things really happened, not the run's --now. */
  clock?: () => Date;
}

/**
 * Accepted messages whose `sent` is not yet committed, at most: workers wait before starting
 * another message while this many are waiting. With the messages in conversation, it is the most
 * a crash can make a later run send twice (same Message-ID).
 */
export const SENT_GROUP_MAX = 20;
const SENT_GROUP_FLUSH_AT = 10;
const SENT_GROUP_LINGER_MS = 10;

export class OutboxMailer implements Mailer {
  readonly backend: string;
  private readonly clock: () => Date;

  constructor(private readonly init: OutboxMailerInit) {
    this.backend = init.transport.backend;
    this.clock = init.clock ?? (() => new Date());
  }

  /** The outbox row for a new message, with the Message-ID every retry will reuse. */
  private newRow(message: OutgoingMessage, runId: number | null, now: Date): NewOutboxRow {
    return {
      dedupeKey: message.dedupeKey,
      kind: message.kind,
      to: message.to,
      subject: message.subject,
      text: message.text,
      html: message.html ?? null,
      messageId: newMessageId(this.init.from),
      runId,
      now,
    };
  }

  async enqueue(db: Knex | Knex.Transaction, message: OutgoingMessage, runId: number | null): Promise<OutboxRow> {
    const fresh = this.newRow(message, runId, this.clock());
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
      const [unrecorded] = await this.commitSent([{ row: current, sentAt: this.clock() }], async (trx, [a]) => onSent?.(trx, a!.sentAt));
      return { status: 'sent', messageId, ...(unrecorded ? { unrecorded } : {}) };
    }
    const error = redact(result.error);
    await markOutboxUnsent(db, dialect, current.id, result.kind === 'failed' ? 'failed' : 'pending', error, this.clock());
    if (result.kind === 'unreachable') return { status: 'unreachable', error, cause: result.cause };
    return result.kind === 'failed' ? { status: 'failed', error } : { status: 'deferred', error };
  }

  async enqueueMany(db: Knex | Knex.Transaction, messages: OutgoingMessage[], runId: number | null): Promise<OutboxRow[]> {
    if (messages.length === 0) return [];
    const now = this.clock();
    const fresh = messages.map((m) => this.newRow(m, runId, now));
    const rows = await insertOrFindOutboxMany(db, this.init.dialect, fresh);
    // As in enqueue(): a failed row whose recipient has been corrected is requeued (rare: one by one).
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      if (row.status === 'failed' && row.to_address !== fresh[i]!.to) {
        if (await requeueFailedOutbox(db, this.init.dialect, row.id, fresh[i]!)) rows[i] = (await findOutboxById(db, row.id))!;
      }
    }
    return rows;
  }

  async deliverMany(rows: OutboxRow[], options: DeliverManyOptions = {}): Promise<DeliverManyResult> {
    const { db, dialect, transport } = this.init;
    const report = async (row: OutboxRow, outcome: Exclude<DeliveryOutcome, { status: 'unreachable' }>) => {
      await options.onOutcome?.(row, outcome);
    };
    // Rows that are not claimable are reported as deliver() would, and not touched.
    const notClaimed = async (row: OutboxRow) => {
      if (row.status === 'sent') await report(row, { status: 'already-sent', messageId: row.message_id });
      else await report(row, { status: 'failed', error: row.last_error ?? 'failed in an earlier run', earlier: true });
    };
    const claimable = rows.filter((r) => r.status === 'pending' || r.status === 'sending');
    for (const row of rows) if (!claimable.includes(row)) await notClaimed(row);
    if (claimable.length === 0) return { notAttempted: 0 };

    // Every row of the group → `sending` in one UPDATE, right before the conversations start.
    const claimedIds = await claimOutboxMany(db, dialect, claimable, () => newMessageId(this.init.from), this.clock());
    const current = new Map((await findOutboxByIds(db, claimable.map((r) => r.id))).map((r) => [r.id, r]));
    const queue: OutboxRow[] = [];
    for (const row of claimable) {
      const now = current.get(row.id);
      if (!now) throw new Error(`email_outbox row ${row.id} disappeared while it was being delivered`);
      if (claimedIds.has(row.id)) queue.push(now);
      else await notClaimed(now);
    }

    // One connection keeps docs/reference/jobs.md's strict bound: each message's `sent` is committed before the
    // next one starts, so a crash can repeat only the one in flight.
    const groupMax = transport.concurrency === 1 ? 1 : SENT_GROUP_MAX;
    const flushAt = Math.min(SENT_GROUP_FLUSH_AT, groupMax);
    let next = 0;
    let stopped: DeliverManyResult['stopped'];
    /** A database error: nothing more is written or started. */
    let failure: { error: unknown } | undefined;
    /** beforeSend said stop (time limit, signal, lock lost): nothing more is started, accepted ones are still recorded. */
    let interrupted: { error: unknown } | undefined;
    /** Accepted, `sent` not yet committed: waiting for the next group, and the group committing. */
    const accepted: AcceptedMessage[] = [];
    let committing = 0;
    let flushing: Promise<void> | undefined;

    const flushLoop = async () => {
      try {
        while (accepted.length > 0 && !failure) {
          const group = accepted.splice(0, groupMax);
          committing = group.length;
          const unrecorded = await this.commitSent(group, options.onSent);
          committing = 0;
          for (const [i, a] of group.entries()) {
            const reason = unrecorded[i];
            await report(a.row, { status: 'sent', messageId: a.row.message_id!, ...(reason ? { unrecorded: reason } : {}) });
          }
        }
      } catch (error) {
        // The group stays `sending`: the next run resends it with the same Message-IDs.
        failure ??= { error };
      } finally {
        committing = 0;
      }
    };
    // A group is committed once flushAt messages are waiting, or SENT_GROUP_LINGER_MS
    // after the first of them was accepted: a commit per message would cost more than the sending.
    let linger: NodeJS.Timeout | undefined;
    /** Start committing what is waiting, unless a commit loop already runs (it takes it too). */
    const flushNow = () => {
      if (linger) clearTimeout(linger);
      linger = undefined;
      if (flushing || failure || accepted.length === 0) return;
      const run = flushLoop().finally(() => {
        if (flushing === run) flushing = undefined;
        // Accepted while the loop was finishing its last commit: do not leave them waiting.
        if (accepted.length > 0 && !failure) startFlush();
      });
      flushing = run;
    };
    const startFlush = () => {
      if (accepted.length >= flushAt) flushNow();
      else linger ??= setTimeout(flushNow, SENT_GROUP_LINGER_MS);
    };

    const worker = async () => {
      for (;;) {
        // Back-pressure: never more than groupMax accepted and uncommitted.
        while (accepted.length + committing >= groupMax && !failure) {
          flushNow();
          if (!flushing) break;
          await flushing;
        }
        if (stopped || failure || interrupted || next >= queue.length) return;
        try {
          await options.beforeSend?.();
        } catch (error) {
          interrupted ??= { error };
          return;
        }
        if (stopped || failure || interrupted || next >= queue.length) return;
        const row = queue[next++]!;
        const result = await transport.send({
          from: this.init.from,
          to: row.to_address ?? '',
          subject: row.subject ?? '',
          text: row.body_text ?? '',
          html: row.body_html,
          messageId: row.message_id!,
          headers: { 'X-Ontime-Outbox': String(row.id), 'Auto-Submitted': 'auto-generated' },
          outboxId: row.id,
        });
        if (result.ok) {
          accepted.push({ row, sentAt: this.clock() });
          startFlush();
          continue;
        }
        const error = redact(result.error);
        try {
          await markOutboxUnsent(db, dialect, row.id, result.kind === 'failed' ? 'failed' : 'pending', error, this.clock());
          if (result.kind === 'unreachable') stopped ??= { error, cause: result.cause };
          else await report(row, result.kind === 'failed' ? { status: 'failed', error } : { status: 'deferred', error });
        } catch (err) {
          failure ??= { error: err };
          return;
        }
      }
    };

    const workers = Math.max(1, Math.min(transport.concurrency, queue.length));
    await Promise.all(Array.from({ length: workers }, worker));
    for (;;) {
      flushNow();
      if (!flushing) break;
      await flushing;
    }
    if (linger) clearTimeout(linger);

    // Claimed but never handed over (the run stopped first): back to pending, attempt not counted.
    const unstarted = queue.slice(next).map((r) => r.id);
    if (unstarted.length > 0) {
      try {
        await releaseOutboxClaims(db, dialect, unstarted, this.clock());
      } catch (err) {
        // Left `sending`, they are sent by the next run; nothing was said to the server about them.
        failure ??= { error: err };
      }
    }
    if (failure) throw failure.error;
    if (interrupted) throw interrupted.error;
    return { stopped, notAttempted: unstarted.length };
  }

  /**
   * Accepted messages → `sent`, in one transaction with the caller's record (onSent). When the
   * database refuses that for the data in it (refusedRowError; not a connection or lock error),
   * each message is committed alone, and a message whose record the database refuses on its own
   * is still marked `sent` without it: the server has it, so it must never be sent again. Returns,
   * per message, the database's reason when its record was refused. Anything else throws (the
   * rows stay `sending`, as after a crash).
   */
  private async commitSent(
    group: AcceptedMessage[],
    onSent: ((trx: Knex.Transaction, accepted: AcceptedMessage[]) => Promise<void>) | undefined,
  ): Promise<Array<string | undefined>> {
    const { db, dialect } = this.init;
    const commit = (part: AcceptedMessage[], record: boolean) =>
      transactionOf(db, dialect, async (trx) => {
        await markOutboxSentMany(trx, dialect, part.map((a) => ({ id: a.row.id, sentAt: a.sentAt })));
        if (record) await onSent?.(trx, part);
      });
    try {
      await commit(group, true);
      return group.map(() => undefined);
    } catch (err) {
      if (refusedRowError(err) === undefined) throw err;
    }
    const unrecorded: Array<string | undefined> = [];
    for (const a of group) {
      try {
        await commit([a], true);
        unrecorded.push(undefined);
      } catch (err) {
        const reason = refusedRowError(err);
        if (reason === undefined) throw err;
        await commit([a], false);
        unrecorded.push(reason);
      }
    }
    return unrecorded;
  }

  verify() {
    return this.init.transport.verify();
  }

  close(): Promise<void> {
    return this.init.transport.close();
  }
}
