/**
 * A schema profile: which of the application's tables and columns each concept of the jobs lives
 * in, and which documented rule variants apply (docs/profiles.md). Type-only: importing it loads
 * nothing. Every name is validated as a plain SQL identifier (profiles/validate.ts) and written
 * into statements only through quoteIdent() or knex's identifier bindings.
 */

/** A key/value table with the columns key, value, updated_at (ontime's system_settings shape). */
export interface SettingsMap { table: string }

/*
 * The maps name the application's tables, and the columns whose names differ between the
 * applications ontime knows; every other column keeps the name docs/reference/schema.md gives it
 * (mapping those too is future work: docs/profiles.md, "What a profile cannot change yet").
 */
export interface CasesMap {
  table: string;
  /** The primary key column; `string` keys (SurgiCase's case_id) are named by --ids as written. */
  id: string;
  idKind: 'integer' | 'string';
  /** The human reference printed beside the id; null: the id is the reference. */
  reference: string | null;
  /** The integer status the status jobs move. */
  status: string;
  /** Set to now by every change ontime makes; null when the table has no such column. */
  updatedAt: string | null;
  /** Only rows where this column is 1 are live (SurgiCase's `active`); null: every row is. */
  activeColumn: string | null;
  /**
   * Target status → the column a move to that status sets to now (SurgiCase stamps one column
   * per status instead of keeping a history). Built-in profiles only for now.
   */
  statusTimestamps: Record<string, string>;
  /**
   * The table has ontime's release and email columns (reference/schema.md: scheduled_release_date,
   * actual_release_date, scheduled_email_date, …). false: release-scheduled-cases and
   * send-scheduled-emails have nothing to work on under this profile (exit 78).
   */
  releases: boolean;
  /**
   * Set: the application's own release and mail rules replace ontime's (docs/profiles.md,
   * "Release by status"): release-scheduled-cases and send-scheduled-emails follow this instead of
   * the columns `releases` names. null: ontime's rules (or none, when `releases` is false).
   */
  statusRelease?: StatusReleaseRule | null;
}

/** A value a profile-declared write puts in a column; every name is an identifier, every value bound. */
export type WriteValue =
  | { now: true }
  /** A column of the case row (or a field of the mail: recipients, subject). */
  | { field: string }
  | { literal: string | number | boolean | null }
  /** Text with {field} placeholders: the case's columns, its computed fields, and the write's extras. */
  | { template: string }
  /** A JSON object of values, written as text. */
  | { json: Record<string, WriteValue> };

/** A row a release or a mail adds to an application table, in the transaction of the change. */
export interface ProfileInsert {
  table: string;
  values: Record<string, WriteValue>;
  /**
   * Not written when the case's `via` column is null, or when the row it names in `table`
   * (through `id`) has `column` false: the member turned these off.
   */
  unlessOff: { via: string; table: string; id: string; column: string } | null;
}

/** One row of boolean columns (Django's singleton settings model) holding the jobs' switches. */
export interface SettingsRowMap {
  table: string;
  /** false: release-scheduled-cases releases nothing at all. */
  release: string;
  /** false: send-scheduled-emails sends nothing and reports every case it skipped. */
  email: string;
}

/** Where a mail's recipients come from: a user row per case, plus optional linked users, in one message. */
export interface RecipientsMap {
  /** The case column naming the user (cases.<via> = <table>.<id>). */
  via: string;
  table: string;
  id: string;
  email: string;
  /** Preferred over `email` when not blank. */
  preferredEmail: string | null;
  /** Rows linking the case's user to more users, all in the same message (delegates). */
  links: { table: string; from: string; to: string } | null;
}

/**
 * The release and mail rule of an application that marks a case ready by a status: a case is
 * released when its status column equals `status` and its scheduled_release_date instant has
 * passed; the hold columns are not read (a hold is another status). A release sets
 * actual_release_date, fills `fillNow` columns still null, and adds `onRelease` rows. The mail job
 * sweeps released cases whose mail has not gone (actual_release_date set, actual_email_sent_date
 * null), sends one message to `recipients`, and adds `onMail` rows when it is accepted.
 */
export interface StatusReleaseRule {
  status: string;
  switches: SettingsRowMap;
  fillNow: string[];
  onRelease: ProfileInsert[];
  recipients: RecipientsMap;
  onMail: ProfileInsert[];
  /** Computed fields: name → case columns joined by a space, trimmed (templates and writes may use them). */
  fields: Record<string, string[]>;
}

export interface CaseStatusHistoryMap { table: string }

/** Where a survey owner's address and greeting come from. */
export type SurveyOwner =
  | { kind: 'columns'; email: string; name: string | null }
  /** Through a user table: surveys.<ownerId> = <table>.<id>. */
  | { kind: 'user'; ownerId: string; table: string; id: string; email: string; name: string | null };

/** Columns id, name, deletion_date, deleted_at as in docs/reference/schema.md. */
export interface SurveysMap {
  table: string;
  /** Set: only closed surveys (closed_at not null) are warned and soft-deleted (rules.surveysEligible). */
  closedAt: string | null;
  /** Set by soft deletion and selected by hard deletion under the `hard-deletion-date` rule. */
  hardDeletionDate: string | null;
  owner: SurveyOwner;
}

/** A table of rows belonging to a survey through survey_id. */
export interface SurveyChildMap { table: string }

/** Columns survey_id, removed_at: a hold is active while removed_at is null. */
export interface LegalHoldsMap { table: string }

/** Columns id, survey_id, user_id, session_key, updated_at, expires_at; the access token's column varies. */
export interface ProgressMap { table: string; accessToken: string }

export type ProgressKindName = 'user' | 'session' | 'token';

export interface ProfileRules {
  /** `any`: every live survey is warned and soft-deleted; `closed`: only those with closed_at set. */
  surveysEligible: 'any' | 'closed';
  /**
   * `after-soft-deletion`: hard-deleted `hardDeleteAfterDays` after deleted_at;
   * `hard-deletion-date`: soft deletion sets hard_deletion_date = now + hardDeleteAfterDays, and
   * hard deletion selects hard_deletion_date <= now (a row without it is never hard-deleted).
   */
  hardDeletion: 'after-soft-deletion' | 'hard-deletion-date';
  hardDeleteAfterDays: number;
  /**
   * `listed`: a hard deletion deletes the responses, progress, warnings and removed holds of the
   * survey, then its row (ontime's schema; its foreign keys cascade anyway); `foreign-keys`: every
   * table that references the survey, directly or through its children, read from the database
   * catalog and deleted leaf-first (db/foreign-keys.ts), for applications such as CheckTick whose
   * foreign keys have no ON DELETE action.
   */
  hardDeletionChildren: 'listed' | 'foreign-keys';
  /**
   * `expired-or-stale-undated`: expires_at < now, or no expires_at and updated_at older than the
   * job's --older-than-days; `expired-or-stale`: expires_at < now, or updated_at older than
   * progressStaleDays whatever expires_at says (a safety net).
   */
  progressExpiry: 'expired-or-stale-undated' | 'expired-or-stale';
  /** cleanup-survey-progress's --older-than-days when not given (ontime 30; CheckTick's safety net, 90). */
  progressStaleDays: number;
  /** A row with several identities is counted as the first kind it has, in this order. */
  progressKindOrder: ProgressKindName[];
  /**
   * The warnings cut-over (docs/profiles.md): a warning whose threshold (deletion_date - 30/7/1
   * days) passed before this instant was the application's to send, and is recorded without a
   * mail. An ISO instant; `first-run`: the first real run's now (kept in ontime's settings as
   * governance.warnings_since); null: no cut-over (the ontime profile).
   */
  warningsSince: string | null;
}

/** A mail template: subject, text and HTML with {named} fields (docs/mail-templates.md). */
export interface ProfileMailTemplate {
  subject: string;
  text: string;
  html: string;
}

/** The mail kinds a profile may give its own template for; a kind left out uses the built-in one. */
export interface ProfileTemplates {
  'case-notification'?: ProfileMailTemplate;
  'deletion-warning'?: ProfileMailTemplate;
}

export interface Profile {
  name: string;
  description: string;
  /** The application's calendar (IANA zone): `today` for date columns is the day there. */
  calendarTimezone: string;
  /** true only when `ontime migrate` creates the application tables too (the ontime profile). */
  createsApplicationTables: boolean;
  /** Maps of the application's tables; null where the application has no such concept. */
  cases: CasesMap | null;
  caseStatusHistory: CaseStatusHistoryMap | null;
  surveys: SurveysMap | null;
  surveyResponses: SurveyChildMap | null;
  legalHolds: LegalHoldsMap | null;
  progress: ProgressMap | null;
  /**
   * The application's settings table (key/value); null: ontime's own prefixed settings table
   * holds the job switches and settings.
   */
  settings: SettingsMap | null;
  rules: ProfileRules;
  /** The profile's own mail templates (checked when the profile is loaded); empty: the built-in ones. */
  templates: ProfileTemplates;
}

/** ontime's own tables, always created by `ontime migrate` (prefixed under non-ontime profiles). */
export interface OwnTables {
  jobRuns: string;
  jobLocks: string;
  emailOutbox: string;
  auditLog: string;
  settings: string;
  deletionWarnings: string;
  /** ontime's own status history, used when the profile maps cases but no history table. */
  caseStatusHistory: string;
  migrations: string;
}

/** What the data layer gets: the profile and the resolved names of ontime's own tables. */
export interface Schema {
  profile: Profile;
  prefix: string;
  own: OwnTables;
  /** The settings table the jobs read (the application's, or ontime's own). */
  settings: SettingsMap;
}
