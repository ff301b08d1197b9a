/**
 * Deletion warnings: which live surveys are due one, whether one is still due right before it goes
 * out, and recording it. Every instant is bound through toDbInstant, so SQLite's text comparison
 * stays chronological.
 */
import type { Dialect } from '../../config.js';
import { affectedRows, toBool } from '../dialect.js';
import { DAY_MS, toDbInstant } from '../time.js';
import { readableSql } from '../readable.js';
import { activeHoldExists, eligibleSql, surveyNames, type Db, type WarningDays } from './rules.js';
import type { Knex } from 'knex';
import type { SurveyOwner } from '../../profiles/types.js';

export interface WarningCandidate {
  id: number;
  name: string;
  owner_email: string | null;
  owner_name: string | null;
  deletion_date: unknown;
  /** The applicable warning for the time left: the smallest of 30, 7, 1 days that is >= it. */
  days: WarningDays;
  /** A warning with these days for this very deletion_date is already recorded. */
  warned: boolean;
  held: boolean;
}

/**
 * Live surveys whose deletion_date is after now and at most 30 days away, with their applicable
 * warning computed in SQL (so the boundaries are the database's own comparisons, microseconds
 * included) and whether that warning was already recorded for the current deletion_date.
 */
export async function warningCandidates(db: Db, dialect: Dialect, now: Date, afterId: number, size: number): Promise<WarningCandidate[]> {
  const at = (days: number) => toDbInstant(dialect, new Date(now.getTime() + days * DAY_MS));
  const daysCase = `CASE WHEN s.deletion_date <= ? THEN 1 WHEN s.deletion_date <= ? THEN 7 ELSE 30 END`;
  const n = surveyNames(db);
  const rows = await db({ s: n.surveysTable })
    .select('s.id', 's.name', 's.deletion_date')
    .modify((q) => selectOwner(q, n.surveys.owner))
    .select(db.raw(`${daysCase} AS days`, [at(1), at(7)]))
    .select(
      db.raw(
        `CASE WHEN EXISTS (SELECT 1 FROM ${n.qWarnings} w WHERE w.survey_id = s.id AND w.deletion_date = s.deletion_date AND w.days_before = ${daysCase}) THEN 1 ELSE 0 END AS warned`,
        [at(1), at(7)],
      ),
    )
    .select(db.raw(`CASE WHEN ${activeHoldExists(dialect, 's.id', n.qHolds)} THEN 1 ELSE 0 END AS held`))
    .whereRaw(`1 = 1${eligibleSql(db, 's')}`)
    .whereNull('s.deleted_at')
    .whereNotNull('s.deletion_date')
    .whereRaw(readableSql(dialect, 's.deletion_date', 'instant'))
    .where('s.deletion_date', '>', toDbInstant(dialect, now))
    .where('s.deletion_date', '<=', at(30))
    .where('s.id', '>', afterId)
    .orderBy('s.id')
    .limit(size);
  return rows.map((r: Record<string, unknown>) => ({
    id: Number(r.id),
    name: String(r.name),
    owner_email: (r.owner_email as string | null) ?? null,
    owner_name: (r.owner_name as string | null) ?? null,
    deletion_date: r.deletion_date,
    days: Number(r.days) as WarningDays,
    warned: toBool(r.warned),
    held: toBool(r.held),
  }));
}

/**
 * Just before a warning goes out: is the survey still live, unheld, and still due for deletion at
 * the instant we are about to announce (to the millisecond)?
 */
export async function stillWarnable(db: Db, dialect: Dialect, surveyId: number, announced: Date): Promise<'ok' | 'held' | 'changed'> {
  const n = surveyNames(db);
  const row = await db({ s: n.surveysTable })
    .select('s.id')
    .select(db.raw(`CASE WHEN ${activeHoldExists(dialect, 's.id', n.qHolds)} THEN 1 ELSE 0 END AS held`))
    .where('s.id', surveyId)
    .whereRaw(`1 = 1${eligibleSql(db, 's')}`)
    .whereNull('s.deleted_at')
    .where('s.deletion_date', '>=', toDbInstant(dialect, announced))
    .where('s.deletion_date', '<', toDbInstant(dialect, new Date(announced.getTime() + 1)))
    .first();
  if (!row) return 'changed';
  return toBool((row as Record<string, unknown>).held) ? 'held' : 'ok';
}

/**
 * Record a warning as sent. The deletion_date is copied from the survey row itself when it still
 * holds the announced instant, so it equals the stored value exactly (microseconds included) and
 * the next run recognises it; otherwise the announced instant is recorded as it was sent.
 * Returns false when the same warning was already recorded.
 */
export async function recordWarning(
  db: Db,
  dialect: Dialect,
  w: { surveyId: number; days: WarningDays; announced: Date; sentAt: Date },
): Promise<boolean> {
  const lo = toDbInstant(dialect, w.announced);
  const hi = toDbInstant(dialect, new Date(w.announced.getTime() + 1));
  const n = surveyNames(db);
  const copied = await db.raw(
    `INSERT INTO ${n.qWarnings} (survey_id, days_before, deletion_date, sent_at)
     SELECT s.id, ?, s.deletion_date, ? FROM ${n.qSurveys} s
      WHERE s.id = ? AND s.deletion_date >= ? AND s.deletion_date < ?
        AND NOT EXISTS (SELECT 1 FROM ${n.qWarnings} w
                         WHERE w.survey_id = s.id AND w.days_before = ? AND w.deletion_date = s.deletion_date)`,
    [w.days, toDbInstant(dialect, w.sentAt), w.surveyId, lo, hi, w.days],
  );
  if (affectedRows(dialect, copied) > 0) return true;
  const existing = await db(n.warningsTable)
    .where({ survey_id: w.surveyId, days_before: w.days })
    .where('deletion_date', '>=', lo)
    .where('deletion_date', '<', hi)
    .first('id');
  if (existing) return false;
  const exists = await db(n.surveysTable).where('id', w.surveyId).first('id');
  if (!exists) return false;
  await db(n.warningsTable).insert({
    survey_id: w.surveyId,
    days_before: w.days,
    deletion_date: lo,
    sent_at: toDbInstant(dialect, w.sentAt),
  });
  return true;
}


/** The owner's address and greeting as owner_email / owner_name: columns of the survey, or its user's. */
function selectOwner(q: Knex.QueryBuilder, owner: SurveyOwner): Knex.QueryBuilder {
  if (owner.kind === 'columns') {
    return q.select({ owner_email: `s.${owner.email}` }).select(owner.name ? { owner_name: `s.${owner.name}` } : q.client.raw('NULL AS owner_name'));
  }
  // A left join: a survey whose owner row is gone is still listed, with no address, and reported.
  return q
    .leftJoin({ o: owner.table }, `o.${owner.id}`, `s.${owner.ownerId}`)
    .select({ owner_email: `o.${owner.email}` })
    .select(owner.name ? { owner_name: `o.${owner.name}` } : q.client.raw('NULL AS owner_name'));
}
