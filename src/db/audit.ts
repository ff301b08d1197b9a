/** audit_log rows, written in the same transaction as the change they record. */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { toDbInstant } from './time.js';

export interface AuditEntry {
  action: string;
  subjectType: string | null;
  subjectId: string | number | null;
  /** JSON-serialisable; never personal data of a deleted subject. */
  details?: Record<string, unknown>;
}

interface AuditSource {
  actor: string;
  runId: number | null;
  now: Date;
  dialect: Dialect;
}

export async function audit(trx: Knex | Knex.Transaction, source: AuditSource, entry: AuditEntry): Promise<void> {
  await auditMany(trx, source, [entry]);
}

/**
 * Rows per multi-row INSERT of audit or history rows: one statement for a default batch of 1000.
 * Bound by SQLite's 32766 bound parameters per statement (audit rows bind 7 each: 28,000), well
 * inside PostgreSQL's 65535; larger --batch-size values are split into several statements.
 */
export const ROWS_PER_INSERT = 4000;

export async function auditMany(trx: Knex | Knex.Transaction, source: AuditSource, entries: AuditEntry[]): Promise<void> {
  const at = toDbInstant(source.dialect, source.now);
  for (let i = 0; i < entries.length; i += ROWS_PER_INSERT) {
    await insertAudit(trx, source, at, i === 0 && entries.length <= ROWS_PER_INSERT ? entries : entries.slice(i, i + ROWS_PER_INSERT));
  }
}

async function insertAudit(trx: Knex | Knex.Transaction, source: AuditSource, at: unknown, entries: AuditEntry[]): Promise<void> {
  await trx('audit_log').insert(
    entries.map((e) => ({
      at,
      actor: source.actor,
      action: e.action,
      subject_type: e.subjectType,
      subject_id: e.subjectId === null ? null : String(e.subjectId),
      details: e.details ? JSON.stringify(e.details) : null,
      run_id: source.runId,
    })),
  );
}
