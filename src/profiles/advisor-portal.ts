/**
 * The `advisor-portal` profile: the advisor portal's Django tables (TexasCountry01/advisor-portal-app;
 * cases/management/commands/release_scheduled_cases.py and send_scheduled_emails.py,
 * cases/services/email_service.py). A case is released when `status = 'completed'` and its
 * scheduled_release_date instant has passed; a hold is the status `hold` (the hold columns are
 * informational and not read); the switches are columns of the one `core_systemsettings` row.
 * A release fills date_completed and adds a `cases_casenotification` row unless the member turned
 * portal notifications off; the mail goes to the member's notification_email (else email) and
 * every delegate in one message, and adds a `core_auditlog` row. Everything here is data: the
 * mechanism is the generic StatusReleaseRule (docs/profiles.md).
 */
import { ontimeProfile } from './ontime.js';
import type { Profile } from './types.js';

const NOTIFICATION_TITLE = 'Your case for {employee_name} is completed';
const NOTIFICATION_MESSAGE = 'Your case for {employee_name} has been completed and is ready for you to review.';

export const advisorPortalProfile: Profile = {
  name: 'advisor-portal',
  description: "The advisor portal (Django: cases_case with status 'completed', datetime release instants, core_systemsettings row, delegates)",
  calendarTimezone: 'America/Chicago',
  createsApplicationTables: false,
  settings: null,
  cases: {
    table: 'cases_case',
    id: 'id',
    idKind: 'integer',
    reference: 'external_case_id',
    status: 'status',
    updatedAt: 'updated_at',
    activeColumn: null,
    statusTimestamps: {},
    releases: false,
    statusRelease: {
      status: 'completed',
      switches: { table: 'core_systemsettings', release: 'batch_release_enabled', email: 'email_notifications_enabled' },
      fillNow: ['date_completed'],
      fields: { employee_name: ['employee_first_name', 'employee_last_name'] },
      onRelease: [
        {
          table: 'cases_casenotification',
          values: {
            case_id: { field: 'id' },
            member_id: { field: 'member_id' },
            notification_type: { literal: 'case_released' },
            title: { template: NOTIFICATION_TITLE },
            message: { template: NOTIFICATION_MESSAGE },
            hold_reason: { literal: null },
            is_read: { literal: false },
            created_at: { now: true },
          },
          unlessOff: { via: 'member_id', table: 'accounts_user', id: 'id', column: 'portal_notifications_enabled' },
        },
      ],
      recipients: {
        via: 'member_id',
        table: 'accounts_user',
        id: 'id',
        email: 'email',
        preferredEmail: 'notification_email',
        links: { table: 'accounts_memberdelegate', from: 'member_id', to: 'delegate_id' },
      },
      onMail: [
        {
          table: 'core_auditlog',
          values: {
            action_type: { literal: 'email_notification_sent' },
            timestamp: { now: true },
            description: { template: 'Case completed email sent to [{recipients}] for case {external_case_id}' },
            case_id: { field: 'id' },
            user_id: { literal: null },
            changes: { literal: '{}' },
            metadata: { json: { email_to: { field: 'recipients' }, email_subject: { field: 'subject' }, trigger: { literal: 'case_completed_released' } } },
          },
          unlessOff: null,
        },
      ],
    },
  },
  caseStatusHistory: null,
  surveys: null,
  surveyResponses: null,
  legalHolds: null,
  progress: null,
  rules: ontimeProfile.rules,
  templates: {
    'case-notification': {
      subject: 'REPORT: The case for {employee_name} is ready for you!',
      text: [
        'Hello,',
        '',
        'The case for {employee_name} ({case_reference}) is completed and ready for you to review.',
        '',
        'View the case here:',
        '{case_url}',
        '',
        'This message was sent automatically; please do not reply to it.',
        '',
      ].join('\n'),
      html: [
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>{subject}</title></head><body>',
        '<p>Hello,</p>',
        '<p>The case for <strong>{employee_name}</strong> ({case_reference}) is completed and ready for you to review.</p>',
        '<p><a href="{case_url}">View the case</a></p>',
        '<p style="color: #666; font-size: 0.9em;">This message was sent automatically; please do not reply to it.</p>',
        '</body></html>',
      ].join('\n'),
    },
  },
};
