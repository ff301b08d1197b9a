/** Soft deletion: live surveys whose deletion_date has passed, and the guarded UPDATE. */
import type { Knex } from 'knex';
import type { Dialect } from '../../config.js';
import { toBool } from '../dialect.js';
import { toDbInstant } from '../time.js';
import { readableSql } from '../readable.js';
import { activeHoldExists, eligibleSql, surveyNames, type Db } from './rules.js';
import { DAY_MS } from '../time.js';

export interface DueSurvey {
  id: number;
  /** deletion_date for soft deletion, deleted_at for hard deletion. */
  due_at: unknown;
  held: boolean;
}

/** Live surveys whose deletion_date has passed (`deletion_date <= now`). */
export async function softDeletionDue(db: Db, dialect: Dialect, now: Date, afterId: number, size: number): Promise<DueSurvey[]> {
  const n = surveyNames(db);
  const rows = await db({ s: n.surveysTable })
    .select('s.id', 's.deletion_date as due_at')
    .select(db.raw(`CASE WHEN ${activeHoldExists(dialect, 's.id', n.qHolds)} THEN 1 ELSE 0 END AS held`))
    .whereRaw(`1 = 1${eligibleSql(db, 's')}`)
    .whereNull('s.deleted_at')
    .whereNotNull('s.deletion_date')
    .whereRaw(readableSql(dialect, 's.deletion_date', 'instant'))
    .where('s.deletion_date', '<=', toDbInstant(dialect, now))
    .where('s.id', '>', afterId)
    .orderBy('s.id')
    .limit(size);
  return rows.map((r: Record<string, unknown>) => ({ id: Number(r.id), due_at: r.due_at, held: toBool(r.held) }));
}

/**
 * Soft-delete those of `ids` that are still live, past their deletion_date and not held, in one
 * statement whose WHERE carries the whole rule. Returns the ids it changed.
 */
export async function softDelete(trx: Knex.Transaction, dialect: Dialect, now: Date, ids: number[]): Promise<number[]> {
  if (ids.length === 0) return [];
  const nowDb = toDbInstant(dialect, now);
  // The UPDATE comes first in the transaction: on SQLite that takes the write lock before any
  // read, so a concurrent writer cannot invalidate our snapshot.
  const n = surveyNames(trx);
  // Under `hard-deletion-date` the soft deletion also sets when the hard deletion is due.
  const hardAt = n.rules.hardDeletion === 'hard-deletion-date' && n.surveys.hardDeletionDate
    ? { [n.surveys.hardDeletionDate]: toDbInstant(dialect, new Date(now.getTime() + n.rules.hardDeleteAfterDays * DAY_MS)) }
    : {};
  const changed = await trx(n.surveysTable)
    .update({ deleted_at: nowDb, ...hardAt })
    .whereIn('id', ids)
    .whereRaw(`1 = 1${eligibleSql(trx, n.qSurveys)}`)
    .whereNull('deleted_at')
    .whereNotNull('deletion_date')
    .whereRaw(readableSql(dialect, 'deletion_date', 'instant'))
    .where('deletion_date', '<=', nowDb)
    .whereRaw(`NOT ${activeHoldExists(dialect, `${n.qSurveys}.id`, n.qHolds)}`);
  if (changed === 0) return [];
  const rows = await trx(n.surveysTable).select('id').whereIn('id', ids).where('deleted_at', nowDb).orderBy('id');
  return rows.map((r: { id: unknown }) => Number(r.id));
}

