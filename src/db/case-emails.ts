/** Queries of send-scheduled-emails over `cases`: which notification emails are due, and marking one sent. */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { mapped } from './schema.js';
import { whereNotOnHold } from './case-holds.js';
import { caseReads, whereReadable } from './readable.js';
import { instantPerId, toDbInstant } from './time.js';

export interface DueCaseEmail {
  id: number;
  reference: string;
  title: string;
  contact_name: string | null;
  contact_email: string | null;
  scheduled_email_date: unknown;
}

/**
 * Cases whose email is due on `today` (docs/reference/jobs.md): not sent yet, scheduled on or before today, not on
 * hold today. Keyset page: id > afterId, ascending, at most `size`.
 */
export function dueCaseEmails(db: Knex, dialect: Dialect, today: string, afterId: number, size: number): Promise<DueCaseEmail[]> {
  const q = whereReadable(db(mapped(db, 'cases').table), dialect, caseReads('scheduled_email_date'))
    .select('id', 'reference', 'title', 'contact_name', 'contact_email', 'scheduled_email_date')
    .whereNull('actual_email_sent_date')
    .whereNotNull('scheduled_email_date')
    .where('scheduled_email_date', '<=', today)
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(size);
  return whereNotOnHold(q, dialect, today);
}

/** Record the accepted email on the case, unless something already did. Returns rows changed (0 or 1). */
export async function markCaseEmailSent(trx: Knex | Knex.Transaction, dialect: Dialect, caseId: number, sentAt: Date): Promise<number> {
  const at = toDbInstant(dialect, sentAt);
  return trx(mapped(trx, 'cases').table).where({ id: caseId }).whereNull('actual_email_sent_date').update({ actual_email_sent_date: at, updated_at: at });
}

/**
 * markCaseEmailSent for a group of accepted messages, in the transaction that marks their outbox
 * rows sent. Returns the ids of the cases that were changed (a case someone already recorded is
 * left alone). The rows are read with FOR UPDATE where the database has it, so the returned ids
 * are exactly the ones this transaction changed.
 */
export async function markCaseEmailsSent(
  trx: Knex.Transaction,
  dialect: Dialect,
  items: { caseId: number; sentAt: Date }[],
): Promise<number[]> {
  if (items.length === 0) return [];
  const select = trx(mapped(trx, 'cases').table)
    .whereIn(
      'id',
      items.map((i) => i.caseId),
    )
    .whereNull('actual_email_sent_date')
    .select('id');
  const open = new Set((await (dialect === 'sqlite' ? select : select.forUpdate())).map((r: { id: unknown }) => Number(r.id)));
  const changing = items.filter((i) => open.has(i.caseId));
  if (changing.length > 0) {
    const at = instantPerId(trx, dialect, changing.map((i) => ({ id: i.caseId, at: i.sentAt })));
    await trx(mapped(trx, 'cases').table)
      .whereIn(
        'id',
        changing.map((i) => i.caseId),
      )
      .whereNull('actual_email_sent_date')
      .update({ actual_email_sent_date: at, updated_at: at });
  }
  return [...open];
}
