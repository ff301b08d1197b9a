/**
 * The mail layer's contract, used by every job that sends mail. Type-only here so the runner and
 * job handlers can name it without loading nodemailer; the implementation lives beside it.
 *
 * The outbox state machine (docs/reference/jobs.md): a row is created (or found, by dedupe_key) before the SMTP
 * conversation, marked `sending`, and marked `sent` in the same transaction as the caller's domain
 * update once the server accepted it. 4xx or a lost connection → back to `pending` for the next run;
 * 5xx → `failed` with the server's answer. A row found `sending` (a crashed run) is sent again with
 * the Message-ID it already has.
 */
import type { Knex } from 'knex';

export interface OutgoingMessage {
  /** e.g. `case-email:42:2026-11-23`; one outbox row, and at most one delivery, per key. */
  dedupeKey: string;
  /** `case-notification`, `survey-deletion-warning`, `job-failure-alert`, … */
  kind: string;
  to: string;
  subject: string;
  text: string;
  html?: string;
}

export interface OutboxRow {
  id: number;
  dedupe_key: string;
  kind: string | null;
  to_address: string | null;
  subject: string | null;
  body_text: string | null;
  body_html: string | null;
  status: 'pending' | 'sending' | 'sent' | 'failed';
  attempts: number;
  last_error: string | null;
  message_id: string | null;
  /** When the server accepted it (any stored instant form; read with fromDbInstant). */
  sent_at?: unknown;
}

export type DeliveryOutcome =
  /**
   * The server accepted it; the row is `sent` and onSent ran in the same transaction. `unrecorded`:
   * the database refused onSent's record for this message alone (its message, from
   * refusedRowError); the row was marked `sent` without it, so the message is never sent again.
   */
  | { status: 'sent'; messageId: string; unrecorded?: string }
  /** Already sent by an earlier run: nothing was sent now. */
  | { status: 'already-sent'; messageId: string | null }
  /** 4xx or connection lost mid-way: the row is `pending` again, for the next run. */
  | { status: 'deferred'; error: string }
  /**
   * 5xx: the row is `failed` with the server's answer. `earlier` is true when the row had already
   * failed in an earlier run: nothing was sent now (a permanent answer is not retried by itself).
   */
  | { status: 'failed'; error: string; earlier?: boolean }
  /**
   * Nothing could be delivered and no row was changed for good: the row is `pending` again.
   * `cause` says whose move it is: `connect` — the server could not be reached at all (refused,
   * DNS, timeout before the greeting, TLS failure) → exit 69; `auth` — it refused our login;
   * `config` — the transport itself is misconfigured (e.g. EMAIL_FILE_PATH not writable) → exit 78.
   * A job should stop sending at the first one: the next message would meet the same wall.
   */
  | { status: 'unreachable'; error: string; cause: 'connect' | 'auth' | 'config' };

/** Runs in the transaction that marks the row `sent`; `sentAt` is when the server accepted it. */
export type OnSent = (trx: Knex.Transaction, sentAt: Date) => Promise<void>;

/** One message of a group the server accepted, with when it accepted it. */
export interface AcceptedMessage {
  row: OutboxRow;
  sentAt: Date;
}

export interface DeliverManyOptions {
  /**
   * Runs in the transaction that marks a group of accepted messages `sent` (the caller's domain
   * update for all of them). Groups are small (at most SENT_GROUP_MAX messages).
   */
  onSent?: (trx: Knex.Transaction, accepted: AcceptedMessage[]) => Promise<void>;
  /**
   * Told the final outcome of each row: `sent` after its group committed; `deferred`/`failed`
   * after the row was updated; `already-sent` / `failed` (earlier) for rows not claimable.
   * `unreachable` is not reported per row: deliverMany returns it.
   */
  onOutcome?: (row: OutboxRow, outcome: Exclude<DeliveryOutcome, { status: 'unreachable' }>) => void | Promise<void>;
  /**
   * Awaited before each message is handed to the transport (time limit, signals, fencing). If it
   * throws, no further message is started; the ones in flight finish and are recorded, claimed
   * rows never started go back to `pending`, and deliverMany rethrows.
   */
  beforeSend?: () => Promise<void>;
}

export interface DeliverManyResult {
  /** Set when the transport could not take messages: nothing more was started. */
  stopped?: { error: string; cause: 'connect' | 'auth' | 'config' };
  /** Claimed rows never handed to the transport (put back to `pending`). */
  notAttempted: number;
}

export interface Mailer {
  /** Which transport is configured: `smtp`, `console` or `file`. */
  readonly backend: string;
  /**
   * Create the outbox row for a message, or find the one that already has its dedupe key.
   * Run it inside the caller's transaction when the message belongs to a domain change.
   */
  enqueue(db: Knex | Knex.Transaction, message: OutgoingMessage, runId: number | null): Promise<OutboxRow>;
  /**
   * Deliver one outbox row: pending/sending → sending → SMTP → sent (+ onSent in the same transaction).
   * Never throws for SMTP answers; the outcome says what happened.
   */
  deliver(row: OutboxRow, onSent?: OnSent): Promise<DeliveryOutcome>;
  /** enqueue() for many messages: one multi-row insert; rows returned in the order of `messages`. */
  enqueueMany(db: Knex | Knex.Transaction, messages: OutgoingMessage[], runId: number | null): Promise<OutboxRow[]>;
  /**
   * Deliver many rows with bounded concurrency (the transport's connections): all claimable rows
   * → `sending` in one UPDATE, then each handed to the server; accepted ones are marked `sent` in
   * small groups, each group in one transaction with `onSent`. A row is marked sent only after the
   * server accepted it. Never throws for SMTP answers; throws what beforeSend or the database threw.
   */
  deliverMany(rows: OutboxRow[], options?: DeliverManyOptions): Promise<DeliverManyResult>;
  /**
   * Check the transport without sending: connect and log in (smtp), the directory is writable
   * (file). For `doctor`. Never throws; `ok: false` carries the reason.
   */
  verify(): Promise<{ ok: true; detail: string } | { ok: false; error: string; cause: 'connect' | 'auth' | 'config' }>;
  /** Close pooled connections. The runner calls it in `finally`. */
  close(): Promise<void>;
}
