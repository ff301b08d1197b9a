/**
 * The `surgicase` profile: SurgiCase's MySQL `cases` table (scadreau/surgicase; the columns its
 * endpoints write, utils/status_timestamps.py's status → column map). Case ids are strings chosen
 * by the client; only `active = 1` rows are live; a move to a status stamps that status's column.
 * SurgiCase keeps no status history: ontime writes its own, in <prefix>case_status_history.
 * No surveys, no settings table (ontime's own prefixed settings table holds the job switches).
 */
import { ontimeProfile } from './ontime.js';
import type { Profile } from './types.js';

export const surgicaseProfile: Profile = {
  name: 'surgicase',
  description: 'SurgiCase (MySQL cases: string case_id, case_status, active, one timestamp column per status)',
  calendarTimezone: 'UTC',
  createsApplicationTables: false,
  settings: null,
  cases: {
    table: 'cases',
    id: 'case_id',
    idKind: 'string',
    reference: null,
    status: 'case_status',
    updatedAt: null,
    activeColumn: 'active',
    statusTimestamps: {
      '7': 'billable_flag_ts',
      '8': 'docs_needed_ts',
      '10': 'submitted_ts',
      '15': 'pending_payment_ts',
      '20': 'paid_to_provider_ts',
      '30': 'sent_to_biller_ts',
      '40': 'received_pmnt_ts',
      '50': 'sent_to_negotiation_ts',
      '60': 'settled_ts',
      '70': 'sent_to_idr_ts',
      '80': 'idr_decision_ts',
      '400': 'rejected_ts',
      '500': 'closed_ts',
    },
    releases: false,
  },
  caseStatusHistory: null,
  surveys: null,
  surveyResponses: null,
  legalHolds: null,
  progress: null,
  rules: ontimeProfile.rules,
  templates: {},
};
