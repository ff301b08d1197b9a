/**
 * The batch jobs as the benchmark sees them: how many items are due (counted before the run
 * and again after it: what is left), and the raw baseline — the set-based statements a DBA would
 * write for the same work, audit/history rows included, in one transaction.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../../src/config.js';
import { whereNotOnHold } from '../../src/db/case-holds.js';
import { expiredProgress } from '../../src/db/progress.js';
import { DAY_MS, toDbInstant, utcDay } from '../../src/db/time.js';
import { DialectSql } from './sql.js';

export interface Workload {
  /** The ontime job (CLI name). */
  job: string;
  /** What one item is, for the table. */
  unit: string;
  /** Items due at `now`. */
  due(knex: Knex, dialect: Dialect, now: Date): Promise<number>;
  /** The DBA's statements; returns the items changed. */
  raw(knex: Knex, dialect: Dialect, now: Date): Promise<number>;
}

const CLEANUP_DAYS = 30;
const HARD_DELETE_DAYS = 30;

/**
 * count(*) without `.first()`: knex adds LIMIT 1 for it, and with a LIMIT MariaDB 10.11 prefers a
 * range scan of an index plus row lookups over a full scan (25 s against 0.7 s at 1M cases).
 */
export async function count(q: Knex.QueryBuilder): Promise<number> {
  const rows = (await q.count({ c: '*' })) as Array<{ c: number | string }>;
  return Number(rows[0]?.c ?? 0);
}

/** The raw statements of one job run in one transaction; the result is the items changed. */
async function inTransaction(knex: Knex, body: (trx: Knex.Transaction) => Promise<number>): Promise<number> {
  return Number(await knex.transaction(body));
}

/** INSERT INTO table (columns) <select>, the select built with knex so predicates are shared. */
async function insertSelect(knex: Knex, table: string, columns: string[], select: Knex.QueryBuilder): Promise<void> {
  const { sql, bindings } = select.toSQL();
  const cols = columns.map((c) => knex.raw('??', [c]).toQuery()).join(', ');
  await knex.raw(`INSERT INTO ${knex.raw('??', [table]).toQuery()} (${cols}) ${sql}`, bindings as Knex.RawBinding[]);
}

const AUDIT_COLUMNS = ['at', 'actor', 'action', 'subject_type', 'subject_id', 'details', 'run_id'];

function auditSelect(
  knex: Knex,
  dialect: Dialect,
  now: Date,
  from: Knex.QueryBuilder,
  actor: string,
  action: string,
  subjectType: string,
  details: string,
): Knex.QueryBuilder {
  const s = new DialectSql(dialect, now);
  return from
    .clone()
    .clearSelect()
    .select(
      knex.raw('? AS at', [toDbInstant(dialect, now)]),
      knex.raw('? AS actor', [actor]),
      knex.raw('? AS action', [action]),
      knex.raw('? AS subject_type', [subjectType]),
      knex.raw(`${s.text('id')} AS subject_id`),
      knex.raw(`${details} AS details`),
      knex.raw('NULL AS run_id'),
    );
}

// ── release-scheduled-cases ───────────────────────────────────────────────────────────────────
function dueForRelease(knex: Knex, dialect: Dialect, now: Date): Knex.QueryBuilder {
  const today = utcDay(now);
  const q = knex('cases').whereNull('actual_release_date').whereNotNull('scheduled_release_date').where('scheduled_release_date', '<=', today);
  return whereNotOnHold(q, dialect, today);
}

export const release: Workload = {
  job: 'release-scheduled-cases',
  unit: 'cases released',
  due: (knex, dialect, now) => count(dueForRelease(knex, dialect, now)),
  async raw(knex, dialect, now) {
    const s = new DialectSql(dialect, now);
    return inTransaction(knex, async (trx) => {
      await insertSelect(
        trx,
        'audit_log',
        AUDIT_COLUMNS,
        auditSelect(trx, dialect, now, dueForRelease(trx, dialect, now), 'job:release-scheduled-cases', 'case.released', 'case',
          s.concat(`'{"scheduledReleaseDate":"'`, 'scheduled_release_date', `'"}'`)),
      );
      const at = toDbInstant(dialect, now);
      return dueForRelease(trx, dialect, now).update({ actual_release_date: at, updated_at: at });
    });
  },
};

// ── weekly-pending-payment-update ─────────────────────────────────────────────────────────────
const pending = (knex: Knex) => knex('cases').where('status', 10);

export const weeklyPending: Workload = {
  job: 'weekly-pending-payment-update',
  unit: 'cases 10→15',
  due: (knex) => count(pending(knex)),
  async raw(knex, dialect, now) {
    const actor = 'job:weekly-pending-payment-update';
    const at = toDbInstant(dialect, now);
    return inTransaction(knex, async (trx) => {
      await insertSelect(
        trx,
        'case_status_history',
        ['case_id', 'from_status', 'to_status', 'changed_at', 'source', 'run_id'],
        pending(trx).select('id', trx.raw('10'), trx.raw('15'), trx.raw('?', [at]), trx.raw('?', [actor]), trx.raw('NULL')),
      );
      await insertSelect(trx, 'audit_log', AUDIT_COLUMNS, auditSelect(trx, dialect, now, pending(trx), actor, 'case.status_changed', 'case', `'{"from":10,"to":15}'`));
      return pending(trx).update({ status: 15, updated_at: at });
    });
  },
};

// ── weekly-paid-update ────────────────────────────────────────────────────────────────────────
// Runs after weekly-pending-payment-update on the same seed, so it also moves the cases that job
// moved to 15; the raw side runs in the same order on an identical seed and sees the same set.
const paid = (knex: Knex) => knex('cases').where('status', 15);

export const weeklyPaid: Workload = {
  job: 'weekly-paid-update',
  unit: 'cases 15→20',
  due: (knex) => count(paid(knex)),
  async raw(knex, dialect, now) {
    const actor = 'job:weekly-paid-update';
    const at = toDbInstant(dialect, now);
    return inTransaction(knex, async (trx) => {
      await insertSelect(
        trx,
        'case_status_history',
        ['case_id', 'from_status', 'to_status', 'changed_at', 'source', 'run_id'],
        paid(trx).select('id', trx.raw('15'), trx.raw('20'), trx.raw('?', [at]), trx.raw('?', [actor]), trx.raw('NULL')),
      );
      await insertSelect(trx, 'audit_log', AUDIT_COLUMNS, auditSelect(trx, dialect, now, paid(trx), actor, 'case.status_changed', 'case', `'{"from":15,"to":20}'`));
      return paid(trx).update({ status: 20, updated_at: at });
    });
  },
};

// ── process-data-governance ───────────────────────────────────────────────────────────────────
function notHeld(q: Knex.QueryBuilder): Knex.QueryBuilder {
  return q.whereNotExists(function () {
    this.select(1).from('survey_legal_holds').whereRaw('survey_legal_holds.survey_id = surveys.id').whereNull('survey_legal_holds.removed_at');
  });
}
const softDue = (knex: Knex, dialect: Dialect, now: Date) =>
  notHeld(knex('surveys').whereNull('deleted_at').where('deletion_date', '<=', toDbInstant(dialect, now)));
const hardDue = (knex: Knex, dialect: Dialect, now: Date) =>
  notHeld(knex('surveys').where('deleted_at', '<=', toDbInstant(dialect, new Date(now.getTime() - HARD_DELETE_DAYS * DAY_MS))));

export const governance: Workload = {
  job: 'process-data-governance',
  unit: 'surveys soft+hard deleted',
  async due(knex, dialect, now) {
    return (await count(softDue(knex, dialect, now))) + (await count(hardDue(knex, dialect, now)));
  },
  async raw(knex, dialect, now) {
    const actor = 'job:process-data-governance';
    const s = new DialectSql(dialect, now);
    const at = toDbInstant(dialect, now);
    return inTransaction(knex, async (trx) => {
      await insertSelect(trx, 'audit_log', AUDIT_COLUMNS, auditSelect(trx, dialect, now, softDue(trx, dialect, now), actor, 'survey.soft_deleted', 'survey', `'{}'`));
      const soft = await softDue(trx, dialect, now).update({ deleted_at: at, updated_at: at });
      const counted = (table: string) => `(SELECT COUNT(*) FROM ${table} WHERE ${table}.survey_id = surveys.id)`;
      await insertSelect(
        trx,
        'audit_log',
        AUDIT_COLUMNS,
        auditSelect(trx, dialect, now, hardDue(trx, dialect, now), actor, 'survey.hard_deleted', 'survey',
          s.concat(`'{"responses":'`, counted('survey_responses'), `',"progress":'`, counted('survey_progress'), `'}'`)),
      );
      // Responses, progress, warnings and removed holds go by ON DELETE CASCADE.
      const hard = await hardDue(trx, dialect, now).del();
      return soft + hard;
    });
  },
};

// ── cleanup-survey-progress ───────────────────────────────────────────────────────────────────
const expired = (knex: Knex, dialect: Dialect, now: Date) =>
  expiredProgress(knex('survey_progress'), dialect, now, new Date(now.getTime() - CLEANUP_DAYS * DAY_MS));

export const cleanup: Workload = {
  job: 'cleanup-survey-progress',
  unit: 'progress rows deleted',
  due: (knex, dialect, now) => count(expired(knex, dialect, now)),
  async raw(knex, dialect, now) {
    return inTransaction(knex, async (trx) => {
      const deleted = await expired(trx, dialect, now).del();
      await trx('audit_log').insert({
        at: toDbInstant(dialect, now),
        actor: 'job:cleanup-survey-progress',
        action: 'survey_progress.deleted',
        subject_type: 'survey_progress',
        subject_id: null,
        details: JSON.stringify({ deleted, olderThanDays: CLEANUP_DAYS }),
        run_id: null,
      });
      return deleted;
    });
  },
};

/**
 * In this order on one seed: the case jobs touch different columns; cleanup runs before
 * governance because hard deletion also removes progress rows.
 */
export const WORKLOADS: Workload[] = [release, weeklyPending, weeklyPaid, cleanup, governance];
