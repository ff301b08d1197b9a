/**
 * The governance report: per day (in ONTIME_TIMEZONE), the deletion warnings sent by threshold,
 * the surveys soft- and hard-deleted (with survey ids and the rows deleted), and the legal-hold
 * skips; with totals. Built from audit_log alone, so it holds survey ids and counts, never a name,
 * an owner or a response.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { governanceAuditRows, type GovernanceAuditRow } from '../db/governance-audit.js';
import { addDays } from '../db/time.js';
import { dayIn, daysFrom, dayStart } from './zone-days.js';

export interface HardDeletion {
  surveyId: number;
  at: string;
  responses: number;
  progress: number;
}

export interface GovernanceCounts {
  warnings30: number;
  warnings7: number;
  warnings1: number;
  softDeleted: number;
  hardDeleted: number;
  responsesDeleted: number;
  progressDeleted: number;
  /** Legal-hold skips: surveys a hold kept from a warning or a deletion, summed over the runs. */
  skippedLegalHold: number;
}

export interface GovernanceDay extends GovernanceCounts {
  day: string;
  softDeletedSurveys: number[];
  hardDeletedSurveys: HardDeletion[];
}

export interface GovernanceReport {
  from: string;
  to: string;
  timezone: string;
  /** [start, end) of the range as instants. */
  start: string;
  end: string;
  auditRows: number;
  days: GovernanceDay[];
  totals: GovernanceCounts;
}

export function emptyCounts(): GovernanceCounts {
  return { warnings30: 0, warnings7: 0, warnings1: 0, softDeleted: 0, hardDeleted: 0, responsesDeleted: 0, progressDeleted: 0, skippedLegalHold: 0 };
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : Number(v) || 0);

/** Add one audit row to the counts (and to the day's lists when given). */
export function countAuditRow(c: GovernanceCounts, row: GovernanceAuditRow, day?: GovernanceDay): void {
  switch (row.action) {
    case 'survey.deletion_warning_sent': {
      const days = num(row.details.daysBefore);
      if (days === 30) c.warnings30 += 1;
      else if (days === 7) c.warnings7 += 1;
      else if (days === 1) c.warnings1 += 1;
      return;
    }
    case 'survey.soft_deleted':
      c.softDeleted += 1;
      if (day && row.surveyId !== null) day.softDeletedSurveys.push(row.surveyId);
      return;
    case 'survey.hard_deleted': {
      const responses = num(row.details.responses);
      const progress = num(row.details.progress);
      c.hardDeleted += 1;
      c.responsesDeleted += responses;
      c.progressDeleted += progress;
      if (day && row.surveyId !== null) day.hardDeletedSurveys.push({ surveyId: row.surveyId, at: row.at.toISOString(), responses, progress });
      return;
    }
    case 'survey.legal_hold_skipped':
      c.skippedLegalHold += num(row.details.surveys);
      return;
  }
}

export async function governanceReport(db: Knex, dialect: Dialect, from: string, to: string, timezone: string): Promise<GovernanceReport> {
  const start = dayStart(from, timezone);
  const end = dayStart(addDays(to, 1), timezone);
  const rows = await governanceAuditRows(db, dialect, start, end);
  const days = new Map<string, GovernanceDay>(
    daysFrom(from, to).map((day) => [day, { day, ...emptyCounts(), softDeletedSurveys: [], hardDeletedSurveys: [] }]),
  );
  const totals = emptyCounts();
  for (const row of rows) {
    const day = days.get(dayIn(row.at, timezone));
    if (!day) continue;
    countAuditRow(day, row, day);
    countAuditRow(totals, row);
  }
  return { from, to, timezone, start: start.toISOString(), end: end.toISOString(), auditRows: rows.length, days: [...days.values()], totals };
}
