/**
 * The audit_log rows the data governance job writes (docs/data-governance.md), read back for the
 * governance report and the weekly report. Only the action, the instant, the survey id and the
 * counts in `details` are read: audit rows hold no personal data, and nothing else is looked at.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { fromDbInstant, toDbInstant } from './time.js';
import { ownTables } from './schema.js';

export const GOVERNANCE_ACTIONS = ['survey.deletion_warning_sent', 'survey.soft_deleted', 'survey.hard_deleted', 'survey.legal_hold_skipped'] as const;
export type GovernanceAction = (typeof GOVERNANCE_ACTIONS)[number];

export interface GovernanceAuditRow {
  id: number;
  at: Date;
  action: GovernanceAction;
  surveyId: number | null;
  details: Record<string, unknown>;
}

/** The governance job's audit rows with `at` in [from, to), oldest first. */
export async function governanceAuditRows(db: Knex, dialect: Dialect, from: Date, to: Date): Promise<GovernanceAuditRow[]> {
  const rows = await db(ownTables(db).auditLog)
    .select('id', 'at', 'action', 'subject_id', 'details')
    .whereIn('action', GOVERNANCE_ACTIONS as unknown as string[])
    .where('at', '>=', toDbInstant(dialect, from))
    .where('at', '<', toDbInstant(dialect, to))
    .orderBy('at')
    .orderBy('id');
  return rows.map((r: Record<string, unknown>) => {
    let details: Record<string, unknown> = {};
    try {
      details = r.details ? (JSON.parse(String(r.details)) as Record<string, unknown>) : {};
    } catch {
      // A row another program wrote by hand: counted by its action, without details.
    }
    const subject = r.subject_id === null || r.subject_id === undefined ? null : Number(r.subject_id);
    return { id: Number(r.id), at: fromDbInstant(r.at)!, action: r.action as GovernanceAction, surveyId: Number.isFinite(subject) ? subject : null, details };
  });
}
