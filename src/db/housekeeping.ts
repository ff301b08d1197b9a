/**
 * What prune-history removes or redacts: old job_runs, the personal data of old email_outbox
 * rows, and old audit_log rows (after they are archived). Every predicate is applied again inside
 * the batch's transaction, so a row that stopped being due between select and apply is left alone.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { toDbInstant } from './time.js';
import { ownTables } from './schema.js';

type Db = Knex | Knex.Transaction;

/** The runs of each job that are never pruned, whatever their age. */
export const RUNS_KEPT_PER_JOB = 20;

/**
 * What a redacted email_outbox row holds instead of its recipient, subject and text body. A text
 * and not NULL because schemas written by the application may declare those columns NOT NULL;
 * it fits the shortest of them (subject, varchar 255). body_html and last_error, nullable
 * everywhere, become NULL.
 */
export const OUTBOX_REDACTED = '[pruned]';

// ---------------------------------------------------------------------------------------------
// job_runs

export interface PrunableRun {
  id: number;
  job: string;
  status: string;
}

/** A job's newest kept run: runs ordered before it (started_at, then id) may be pruned. */
export interface RunBoundary {
  job: string;
  startedAt: unknown;
  id: number;
}

/**
 * For every job with more than RUNS_KEPT_PER_JOB runs, its RUNS_KEPT_PER_JOB-th newest run. Read
 * once at the start: runs added later only push older ones further out, so the boundary stays safe.
 */
export async function runBoundaries(db: Db): Promise<RunBoundary[]> {
  const names: string[] = (await db(ownTables(db).jobRuns).distinct('job').orderBy('job')).map((r: { job: string }) => r.job);
  const boundaries: RunBoundary[] = [];
  for (const job of names) {
    const row = await db(ownTables(db).jobRuns)
      .where({ job })
      .orderBy([
        { column: 'started_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .offset(RUNS_KEPT_PER_JOB - 1)
      .first('id', 'started_at');
    if (row) boundaries.push({ job, startedAt: row.started_at, id: Number(row.id) });
  }
  return boundaries;
}

function prunableRuns(q: Knex.QueryBuilder, dialect: Dialect, finishedBefore: Date, boundaries: RunBoundary[]): Knex.QueryBuilder {
  if (boundaries.length === 0) return q.whereRaw('1 = 0');
  return q
    .whereNot('status', 'running')
    .whereNotNull('finished_at')
    .where('finished_at', '<', toDbInstant(dialect, finishedBefore))
    .where((any) => {
      for (const b of boundaries) {
        any.orWhere((one) =>
          one
            .where('job', b.job)
            .where((older) =>
              older.where('started_at', '<', b.startedAt as Knex.Value).orWhere((tie) => tie.where('started_at', b.startedAt as Knex.Value).where('id', '<', b.id)),
            ),
        );
      }
    });
}

export function selectPrunableRuns(
  db: Db,
  dialect: Dialect,
  finishedBefore: Date,
  boundaries: RunBoundary[],
  afterId: number,
  size: number,
): Promise<PrunableRun[]> {
  return prunableRuns(db(ownTables(db).jobRuns), dialect, finishedBefore, boundaries)
    .select('id', 'job', 'status')
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(size);
}

/** Delete the given runs that are still prunable; returns how many went. */
export async function deletePrunableRuns(trx: Knex.Transaction, dialect: Dialect, finishedBefore: Date, boundaries: RunBoundary[], ids: number[]): Promise<number> {
  return prunableRuns(trx(ownTables(trx).jobRuns), dialect, finishedBefore, boundaries).whereIn('id', ids).del();
}

// ---------------------------------------------------------------------------------------------
// email_outbox

export interface RedactableMessage {
  id: number;
  kind: string | null;
  status: string;
}

/** sent or failed (never pending or sending) before the cut-off, and not redacted yet. */
function redactableOutbox(q: Knex.QueryBuilder, dialect: Dialect, settledBefore: Date): Knex.QueryBuilder {
  return q
    .whereIn('status', ['sent', 'failed'])
    .where((done) =>
      done
        .where((sent) => sent.where('status', 'sent').whereNotNull('sent_at').where('sent_at', '<', toDbInstant(dialect, settledBefore)))
        .orWhere((other) =>
          other
            .where((s) => s.where('status', 'failed').orWhereNull('sent_at'))
            .where('updated_at', '<', toDbInstant(dialect, settledBefore)),
        ),
    )
    .where((notYet) => notYet.whereNull('to_address').orWhereNot('to_address', OUTBOX_REDACTED));
}

export function selectRedactableOutbox(db: Db, dialect: Dialect, settledBefore: Date, afterId: number, size: number): Promise<RedactableMessage[]> {
  return redactableOutbox(db(ownTables(db).emailOutbox), dialect, settledBefore).select('id', 'kind', 'status').where('id', '>', afterId).orderBy('id').limit(size);
}

/**
 * Clear recipient, subject, bodies and error of the given rows that are still redactable. The
 * dedupe_key, kind, status, message_id, timestamps and run_id stay: the dedupe key is what keeps a
 * later run from sending the message again.
 */
export async function redactOutbox(trx: Knex.Transaction, dialect: Dialect, settledBefore: Date, ids: number[]): Promise<number> {
  return redactableOutbox(trx(ownTables(trx).emailOutbox), dialect, settledBefore)
    .whereIn('id', ids)
    .update({ to_address: OUTBOX_REDACTED, subject: OUTBOX_REDACTED, body_text: OUTBOX_REDACTED, body_html: null, last_error: null });
}

// ---------------------------------------------------------------------------------------------
// audit_log

export const AUDIT_COLUMNS = ['id', 'at', 'actor', 'action', 'subject_type', 'subject_id', 'details', 'run_id'] as const;

export interface AuditRow {
  id: number;
  at: unknown;
  actor: string | null;
  action: string;
  subject_type: string | null;
  subject_id: string | null;
  details: string | null;
  run_id: number | null;
}

/** audit_log rows before the cut-off with afterId < id <= upToId, in id order. */
export async function selectOldAudit(db: Db, dialect: Dialect, before: Date, afterId: number, upToId: number, size: number): Promise<AuditRow[]> {
  const rows = await db(ownTables(db).auditLog)
    .select(AUDIT_COLUMNS)
    .where('at', '<', toDbInstant(dialect, before))
    .where('id', '>', afterId)
    .where('id', '<=', upToId)
    .orderBy('id')
    .limit(size);
  return rows.map((r: AuditRow) => ({ ...r, id: Number(r.id), run_id: r.run_id === null ? null : Number(r.run_id) }));
}

/** Delete archived rows: only ids that were written to the archive, and still before the cut-off. */
export async function deleteArchivedAudit(trx: Knex.Transaction, dialect: Dialect, before: Date, ids: number[]): Promise<number> {
  return trx(ownTables(trx).auditLog).where('at', '<', toDbInstant(dialect, before)).whereIn('id', ids).del();
}
