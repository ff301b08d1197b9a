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

export async function auditMany(trx: Knex | Knex.Transaction, source: AuditSource, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const at = toDbInstant(source.dialect, source.now);
  // SQLite's multi-row INSERT is a compound SELECT of at most 500 terms: chunk every dialect alike.
  for (let i = 0; i < entries.length; i += AUDIT_ROWS_PER_INSERT) {
    await insertChunk(trx, source, at, entries.slice(i, i + AUDIT_ROWS_PER_INSERT));
  }
}

const AUDIT_ROWS_PER_INSERT = 250;

async function insertChunk(trx: Knex | Knex.Transaction, source: AuditSource, at: ReturnType<typeof toDbInstant>, entries: AuditEntry[]): Promise<void> {
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
