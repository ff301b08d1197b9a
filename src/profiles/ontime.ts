/** The `ontime` profile: the tables of docs/reference/schema.md, which `ontime migrate` creates, and today's rules. */
import type { Profile } from './types.js';

export const ontimeProfile: Profile = {
  name: 'ontime',
  description: "ontime's own schema (docs/reference/schema.md): the application writes the rows into the tables ontime migrate creates",
  calendarTimezone: 'UTC',
  createsApplicationTables: true,
  settings: { table: 'system_settings' },
  cases: { table: 'cases', id: 'id', idKind: 'integer', reference: 'reference', status: 'status', updatedAt: 'updated_at', activeColumn: null, statusTimestamps: {}, releases: true },
  caseStatusHistory: { table: 'case_status_history' },
  surveys: {
    table: 'surveys',
    closedAt: null,
    hardDeletionDate: null,
    owner: { kind: 'columns', email: 'owner_email', name: 'owner_name' },
  },
  surveyResponses: { table: 'survey_responses' },
  legalHolds: { table: 'survey_legal_holds' },
  progress: { table: 'survey_progress', accessToken: 'access_token' },
  rules: {
    surveysEligible: 'any',
    hardDeletion: 'after-soft-deletion',
    hardDeleteAfterDays: 30,
    hardDeletionChildren: 'listed',
    progressExpiry: 'expired-or-stale-undated',
    progressStaleDays: 30,
    progressKindOrder: ['user', 'session', 'token'],
    warningsSince: null,
  },
  templates: {},
};
