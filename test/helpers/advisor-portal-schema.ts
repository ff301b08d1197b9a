/**
 * The advisor portal's own tables (TexasCountry01/advisor-portal-app, Django; MySQL in production,
 * SQLite in its tests), written from its models and migrations as Django would create them: the
 * columns the release and mail jobs read or write, every NOT NULL column the application's models
 * declare on those tables, and the foreign keys between them. Columns the jobs never touch on
 * tables they never write (fact finder JSON, API sync, credit fields …) are left out.
 *
 * Facts the profile depends on, as the application has them:
 * - AUTH_USER_MODEL is `accounts.User`, so the user table is `accounts_user` (not `auth_user`);
 *   `notification_email` (blank = use `email`), `email_notifications_enabled` and
 *   `portal_notifications_enabled` are per-user opt-ins (accounts 0010, 0015).
 * - `accounts_memberdelegate` links a member to a delegate user, with per-link
 *   `email_notifications` / `portal_notifications` (accounts 0006, 0012, 0013).
 * - `cases_case.scheduled_release_date` and `scheduled_email_date` are datetimes since
 *   cases 0034 (instants, not days); a hold is `status = 'hold'`, and `hold_start_date` /
 *   `hold_end_date` / `hold_duration_days` are informational.
 * - `core_systemsettings` is a singleton row; `core_auditlog` rows name a case by `case_id`.
 * - Django stores datetimes in UTC (USE_TZ) with TIME_ZONE America/Chicago for display.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../../src/config.js';
import { instant } from './fixtures.js';
import { createTables, insertedId, type TableSpec } from './django-ddl.js';

const pk = { name: 'id', type: { kind: 'autoPk' } } as const;
const vc = (name: string, length: number, extra: { null?: boolean; unique?: boolean } = {}) =>
  ({ name, type: { kind: 'varchar', length }, ...extra }) as const;
const dt = (name: string, nullable = true) => ({ name, type: { kind: 'datetime' }, null: nullable }) as const;
const bool = (name: string) => ({ name, type: { kind: 'bool' } }) as const;
const fk = (name: string, table: string, nullable = true) => ({ name, type: { kind: 'fk', table }, null: nullable }) as const;
const text = (name: string, nullable = false) => ({ name, type: { kind: 'text' }, null: nullable }) as const;

export const ADVISOR_PORTAL_TABLES: readonly TableSpec[] = [
  {
    name: 'accounts_user',
    columns: [
      pk,
      vc('password', 128),
      dt('last_login'),
      bool('is_superuser'),
      vc('username', 150, { unique: true }),
      vc('first_name', 150),
      vc('last_name', 150),
      vc('email', 254),
      bool('is_staff'),
      bool('is_active'),
      dt('date_joined', false),
      vc('role', 20),
      vc('user_level', 10, { null: true }),
      vc('workshop_code', 50),
      vc('font_size', 10),
      vc('phone', 20),
      dt('created_at', false),
      dt('updated_at', false),
      bool('is_test_account'),
      vc('notification_email', 254),
      bool('is_pure_delegate'),
      bool('email_notifications_enabled'),
      bool('portal_notifications_enabled'),
    ],
  },
  {
    name: 'accounts_memberdelegate',
    columns: [
      pk,
      dt('created_at', false),
      fk('assigned_by_id', 'accounts_user'),
      fk('delegate_id', 'accounts_user', false),
      fk('member_id', 'accounts_user', false),
      bool('email_notifications'),
      bool('portal_notifications'),
    ],
    uniqueTogether: [['member_id', 'delegate_id']],
  },
  {
    name: 'cases_case',
    columns: [
      pk,
      vc('external_case_id', 50, { unique: true }),
      vc('workshop_code', 50),
      vc('employee_first_name', 100),
      vc('employee_last_name', 100),
      vc('client_email', 254),
      { name: 'num_reports_requested', type: { kind: 'positiveInt' } },
      vc('urgency', 10),
      vc('status', 20),
      vc('status_before_hold', 20),
      text('hold_reason'),
      dt('hold_start_date'),
      dt('hold_end_date'),
      { name: 'hold_duration_days', type: { kind: 'decimal', digits: 5, places: 3 }, null: true },
      dt('date_submitted', false),
      dt('date_accepted'),
      { name: 'date_due', type: { kind: 'date' }, null: true },
      { name: 'date_scheduled', type: { kind: 'date' }, null: true },
      dt('date_completed'),
      dt('scheduled_release_date'),
      dt('actual_release_date'),
      dt('scheduled_email_date'),
      dt('actual_email_sent_date'),
      text('notes'),
      dt('created_at', false),
      dt('updated_at', false),
      fk('member_id', 'accounts_user'),
      fk('created_by_id', 'accounts_user'),
      fk('assigned_to_id', 'accounts_user'),
    ],
  },
  {
    name: 'cases_casenotification',
    columns: [
      pk,
      vc('notification_type', 50),
      vc('title', 255),
      text('message'),
      text('hold_reason', true),
      bool('is_read'),
      dt('created_at', false),
      dt('read_at'),
      fk('case_id', 'cases_case', false),
      fk('member_id', 'accounts_user', false),
    ],
  },
  {
    name: 'core_systemsettings',
    columns: [
      pk,
      vc('available_credits', 50),
      { name: 'default_case_due_days', type: { kind: 'positiveInt' } },
      { name: 'rush_case_threshold_days', type: { kind: 'positiveInt' } },
      bool('enable_scheduled_releases'),
      { name: 'default_completion_delay_hours', type: { kind: 'positiveInt' } },
      { name: 'batch_release_time', type: { kind: 'time' } },
      bool('batch_release_enabled'),
      bool('email_notifications_enabled'),
      bool('enable_delayed_email_notifications'),
      { name: 'default_email_delay_hours', type: { kind: 'positiveInt' } },
      bool('batch_email_enabled'),
      vc('reply_email_address', 254),
      dt('updated_at', false),
      fk('updated_by_id', 'accounts_user'),
    ],
  },
  {
    name: 'core_auditlog',
    columns: [
      pk,
      vc('action_type', 50),
      dt('timestamp', false),
      text('description'),
      { name: 'changes', type: { kind: 'json' } },
      { name: 'ip_address', type: { kind: 'ip' }, null: true },
      { name: 'metadata', type: { kind: 'json' } },
      fk('case_id', 'cases_case'),
      // document_id references cases_casedocument, a table the jobs never touch: kept as a plain column.
      { name: 'document_id', type: { kind: 'int' }, null: true },
      fk('related_user_id', 'accounts_user'),
      fk('user_id', 'accounts_user'),
    ],
  },
];

export const ADVISOR_PORTAL_TABLE_NAMES = ADVISOR_PORTAL_TABLES.map((t) => t.name);

/** Create the portal's tables in a database that has none of them. */
export async function createAdvisorPortalSchema(knex: Knex, dialect: Dialect): Promise<void> {
  await createTables(knex, dialect, ADVISOR_PORTAL_TABLES);
}

/** Children first, for resetting between tests. */
export async function clearAdvisorPortal(knex: Knex): Promise<void> {
  for (const t of ['core_auditlog', 'cases_casenotification', 'cases_case', 'accounts_memberdelegate', 'core_systemsettings', 'accounts_user']) {
    await knex(t).del();
  }
}

const CREATED = new Date('2026-01-05T15:00:00Z');

export interface PortalUser {
  username: string;
  email?: string;
  notification_email?: string;
  role?: 'member' | 'technician' | 'administrator';
  email_notifications_enabled?: boolean;
  portal_notifications_enabled?: boolean;
  first_name?: string;
  last_name?: string;
}

export async function insertPortalUser(knex: Knex, dialect: Dialect, u: PortalUser): Promise<number> {
  const [row] = await knex('accounts_user')
    .insert({
      password: '!',
      is_superuser: false,
      username: u.username,
      first_name: u.first_name ?? u.username,
      last_name: u.last_name ?? 'Advisor',
      email: u.email ?? `${u.username}@example.test`,
      is_staff: false,
      is_active: true,
      date_joined: instant(dialect, CREATED),
      role: u.role ?? 'member',
      workshop_code: 'WS100',
      font_size: '100',
      phone: '',
      created_at: instant(dialect, CREATED),
      updated_at: instant(dialect, CREATED),
      is_test_account: false,
      notification_email: u.notification_email ?? '',
      is_pure_delegate: false,
      email_notifications_enabled: u.email_notifications_enabled ?? true,
      portal_notifications_enabled: u.portal_notifications_enabled ?? true,
    })
    .returning('id');
  return insertedId(row);
}

export async function insertMemberDelegate(
  knex: Knex,
  dialect: Dialect,
  memberId: number,
  delegateId: number,
  options: { email_notifications?: boolean; portal_notifications?: boolean } = {},
): Promise<void> {
  await knex('accounts_memberdelegate').insert({
    created_at: instant(dialect, CREATED),
    member_id: memberId,
    delegate_id: delegateId,
    email_notifications: options.email_notifications ?? true,
    portal_notifications: options.portal_notifications ?? true,
  });
}

export interface PortalCase {
  external_case_id: string;
  member_id: number | null;
  status?: string;
  employee_first_name?: string;
  employee_last_name?: string;
  scheduled_release_date?: Date | null;
  actual_release_date?: Date | null;
  scheduled_email_date?: Date | null;
  actual_email_sent_date?: Date | null;
  date_completed?: Date | null;
  hold_start_date?: Date | null;
  hold_end_date?: Date | null;
  hold_duration_days?: string | null;
}

export async function insertPortalCase(knex: Knex, dialect: Dialect, c: PortalCase): Promise<number> {
  const [row] = await knex('cases_case')
    .insert({
      external_case_id: c.external_case_id,
      workshop_code: 'WS100',
      employee_first_name: c.employee_first_name ?? 'Ada',
      employee_last_name: c.employee_last_name ?? 'Lovelace',
      client_email: 'client@example.test',
      num_reports_requested: 1,
      urgency: 'normal',
      status: c.status ?? 'completed',
      status_before_hold: '',
      hold_reason: '',
      hold_start_date: instant(dialect, c.hold_start_date),
      hold_end_date: instant(dialect, c.hold_end_date),
      hold_duration_days: c.hold_duration_days ?? null,
      date_submitted: instant(dialect, CREATED),
      date_completed: instant(dialect, c.date_completed),
      scheduled_release_date: instant(dialect, c.scheduled_release_date),
      actual_release_date: instant(dialect, c.actual_release_date),
      scheduled_email_date: instant(dialect, c.scheduled_email_date),
      actual_email_sent_date: instant(dialect, c.actual_email_sent_date),
      notes: '',
      created_at: instant(dialect, CREATED),
      updated_at: instant(dialect, CREATED),
      member_id: c.member_id,
    })
    .returning('id');
  return insertedId(row);
}

export interface PortalSettings {
  batch_release_enabled?: boolean;
  enable_scheduled_releases?: boolean;
  email_notifications_enabled?: boolean;
  batch_email_enabled?: boolean;
  /** `HH:MM:SS`, UTC in the application's own help text. */
  batch_release_time?: string;
}

/** The singleton settings row, with the application's model defaults unless told otherwise. */
export async function insertPortalSettings(knex: Knex, dialect: Dialect, s: PortalSettings = {}): Promise<void> {
  await knex('core_systemsettings').insert({
    available_credits: '0.5,1.0,1.5,2.0,2.5,3.0',
    default_case_due_days: 7,
    rush_case_threshold_days: 7,
    enable_scheduled_releases: s.enable_scheduled_releases ?? true,
    default_completion_delay_hours: 0,
    batch_release_time: s.batch_release_time ?? '09:00:00',
    batch_release_enabled: s.batch_release_enabled ?? true,
    email_notifications_enabled: s.email_notifications_enabled ?? true,
    enable_delayed_email_notifications: true,
    default_email_delay_hours: 0,
    batch_email_enabled: s.batch_email_enabled ?? true,
    reply_email_address: 'reports@example.test',
    updated_at: instant(dialect, CREATED),
  });
}
