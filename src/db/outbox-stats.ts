/** Counting email_outbox rows: the backlog `status` shows, the weekly report's sent and failed. */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { toDbInstant } from './time.js';
import { ownTables } from './schema.js';

export interface OutboxCount {
  kind: string;
  status: string;
  count: number;
}

/** Messages not sent yet (pending, sending) or refused for good (failed), by kind. */
export async function outboxBacklog(db: Knex): Promise<OutboxCount[]> {
  const rows = await db(ownTables(db).emailOutbox)
    .select('kind', 'status')
    .count({ n: '*' })
    .whereIn('status', ['pending', 'sending', 'failed'])
    .groupBy('kind', 'status')
    .orderBy('kind')
    .orderBy('status');
  return rows.map((r: Record<string, unknown>) => ({ kind: (r.kind as string | null) ?? '(none)', status: String(r.status), count: Number(r.n) }));
}

/** Messages accepted by the server in [from, to), and messages that failed for good in it (by their last change). */
export async function outboxCountsBetween(db: Knex, dialect: Dialect, from: Date, to: Date): Promise<{ sent: number; failed: number }> {
  const [a, b] = [toDbInstant(dialect, from), toDbInstant(dialect, to)];
  const sent = await db(ownTables(db).emailOutbox).count({ n: '*' }).where('status', 'sent').where('sent_at', '>=', a).where('sent_at', '<', b).first();
  const failed = await db(ownTables(db).emailOutbox).count({ n: '*' }).where('status', 'failed').where('updated_at', '>=', a).where('updated_at', '<', b).first();
  return { sent: Number(sent?.n ?? 0), failed: Number(failed?.n ?? 0) };
}
