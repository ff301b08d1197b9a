/**
 * What a job does with a delivery's outcome, written once for every job that sends mail: the dry
 * run's preview (what a real run would find in the outbox), which count an outcome adds to, which
 * exit code a transport that cannot take mail means, and a capped list of problem lines. Light:
 * no nodemailer here, so a handler imports it at once.
 */
import type { Knex } from 'knex';
import { findOutboxByKey } from '../db/outbox.js';
import { ExitCode } from '../errors.js';
import type { DeliveryOutcome, OutboxRow } from './mailer.js';

/** Counts of a run's messages by outcome. */
export interface MailTally {
  sent: number;
  /** Sent by an earlier run; recorded now, not sent again. */
  alreadySent: number;
  /** Temporary failure: pending again, retried by the next run. */
  deferred: number;
  /** Refused for good by the server in this run. */
  failed: number;
  /** Refused in an earlier run: not retried by itself. */
  failedEarlier: number;
  /** Not tried: the transport could not take mail (see MailStop). */
  notSent: number;
}

export const newMailTally = (): MailTally => ({ sent: 0, alreadySent: 0, deferred: 0, failed: 0, failedEarlier: 0, notSent: 0 });

/** The count an outcome adds to. */
export function outcomeKey(outcome: DeliveryOutcome): keyof MailTally {
  switch (outcome.status) {
    case 'sent':
      return 'sent';
    case 'already-sent':
      return 'alreadySent';
    case 'deferred':
      return 'deferred';
    case 'failed':
      return outcome.earlier ? 'failedEarlier' : 'failed';
    case 'unreachable':
      return 'notSent';
  }
}

/** Counts the outcome and says which count it went to. */
export function countOutcome(tally: MailTally, outcome: DeliveryOutcome): keyof MailTally {
  const key = outcomeKey(outcome);
  tally[key] += 1;
  return key;
}

/** What a dry run says of a message: what deliver() would find in the outbox under its key (read only). */
export type DeliveryPreview =
  | { status: 'already-sent'; row: OutboxRow }
  | { status: 'failed-earlier'; row: OutboxRow }
  | { status: 'would-send' };

export async function previewDelivery(db: Knex, tally: MailTally, dedupeKey: string, to: string): Promise<DeliveryPreview> {
  const existing = await findOutboxByKey(db, dedupeKey);
  if (existing?.status === 'sent') {
    tally.alreadySent += 1;
    return { status: 'already-sent', row: existing };
  }
  if (existing?.status === 'failed' && existing.to_address === to) {
    tally.failedEarlier += 1;
    return { status: 'failed-earlier', row: existing };
  }
  tally.sent += 1;
  return { status: 'would-send' };
}

/** The transport could not take mail at all: why, and the exit code that says whose move it is. */
export interface MailStop {
  reason: string;
  exitCode: number;
  /** What the operator can do about it (e.g. which variables set up mail). */
  hint?: string;
}

/** `connect` → 69 (the server is down: retry later); `auth`/`config` → 78 (a setting to fix). */
export function unreachableExitCode(cause: 'connect' | 'auth' | 'config'): number {
  return cause === 'connect' ? ExitCode.unavailable : ExitCode.config;
}

export function mailStop(stopped: { error: string; cause: 'connect' | 'auth' | 'config' }): MailStop {
  const reason =
    stopped.cause === 'connect'
      ? `the mail server cannot be reached: ${stopped.error}`
      : stopped.cause === 'auth'
        ? `the mail server refused the login: ${stopped.error}`
        : `mail is misconfigured: ${stopped.error}`;
  return { reason, exitCode: unreachableExitCode(stopped.cause) };
}

/**
 * Problem lines (an address missing, a message refused) shown without --verbose, at most `cap`
 * of them: a mail server refusing everything must not flood the output or grow memory with the
 * number of messages. Lines are printed at once, or kept to be printed in a report section.
 */
export class CappedLines {
  private readonly kept: string[] = [];
  private shown = 0;
  /** Lines over the cap: counted, not shown. */
  hidden = 0;
  constructor(private readonly options: { cap: number; print?: (text: string) => void }) {}
  add(text: string): void {
    if (this.shown >= this.options.cap) {
      this.hidden += 1;
      return;
    }
    this.shown += 1;
    if (this.options.print) this.options.print(text);
    else this.kept.push(text);
  }
  /** The kept lines, and how many more there were. */
  lines(): string[] {
    return this.hidden > 0 ? [...this.kept, `  … and ${this.hidden} more (all of them with --verbose)`] : [...this.kept];
  }
}

/** How many problem lines a report lists without --verbose. */
export const PROBLEM_LINES_CAP = 20;
