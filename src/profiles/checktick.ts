/**
 * The `checktick` profile: CheckTick's Django tables (eatyourpeas/checktick, checktick_app/surveys/
 * models.py) and the rules of its data-governance and progress-cleanup management commands.
 * CheckTick has no cases and no settings table: the case jobs have nothing to do under it, and
 * ontime keeps its job switches in its own prefixed settings table (docs/profiles.md).
 */
import type { Profile } from './types.js';

export const checktickProfile: Profile = {
  name: 'checktick',
  description: 'CheckTick (Django, surveys_* tables, owners in auth_user)',
  calendarTimezone: 'UTC',
  createsApplicationTables: false,
  settings: null,
  cases: null,
  caseStatusHistory: null,
  surveys: {
    table: 'surveys_survey',
    closedAt: 'closed_at',
    hardDeletionDate: 'hard_deletion_date',
    owner: { kind: 'user', ownerId: 'owner_id', table: 'auth_user', id: 'id', email: 'email', name: 'username' },
  },
  surveyResponses: { table: 'surveys_surveyresponse' },
  legalHolds: { table: 'surveys_legalhold' },
  progress: { table: 'surveys_surveyprogress', accessToken: 'access_token_id' },
  rules: {
    surveysEligible: 'closed',
    hardDeletion: 'hard-deletion-date',
    hardDeleteAfterDays: 30,
    hardDeletionChildren: 'foreign-keys',
    progressExpiry: 'expired-or-stale',
    progressStaleDays: 90,
    progressKindOrder: ['user', 'token', 'session'],
    warningsSince: 'first-run',
  },
  templates: {},
};
