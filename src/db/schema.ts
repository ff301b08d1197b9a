/**
 * The names a statement uses. The Schema (profiles/) is bound to a connection when it is opened
 * (connect()), so every query on it, and on its transactions (knex gives them the same config),
 * finds the profile's table and column names with schemaOf(db): one connection, one database,
 * one profile. (Not a module-level setting: two connections may use two profiles.) A connection nobody bound (a test's own knex) gets the ontime profile.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { ConfigError } from '../errors.js';
import { DEFAULT_SCHEMA, type Schema } from '../profiles/index.js';

/**
 * Kept on knex's config object, under a symbol: transactions share that object, and the copies
 * knex makes of it (the migrator's withUserParams() clone) copy own symbol properties too.
 */
const SCHEMA = Symbol('ontime.schema');

type AnyDb = Knex | Knex.Transaction;

export function bindSchema(knex: Knex, schema: Schema): void {
  (knex.client.config as Record<symbol, unknown>)[SCHEMA] = schema;
}

/** The schema of a connection, a transaction, or a query builder made from either. */
export function schemaOf(db: AnyDb | Knex.QueryBuilder): Schema {
  return ((db as { client: { config: Record<symbol, unknown> } }).client.config[SCHEMA] as Schema | undefined) ?? DEFAULT_SCHEMA;
}

/**
 * An identifier quoted for raw SQL. Profile names are validated as plain identifiers
 * (profiles/validate.ts) and quoted here besides, so a name never becomes SQL of its own.
 */
export function quoteIdent(dialect: Dialect, name: string): string {
  const q = dialect === 'mysql' ? '`' : '"';
  return name
    .split('.')
    .map((part) => q + part.replaceAll(q, q + q) + q)
    .join('.');
}

/** quoteIdent for the dialect of a connection. */
export function identFor(db: AnyDb): (name: string) => string {
  const client = db.client.config.client as string;
  const dialect: Dialect = client === 'pg' ? 'postgres' : client === 'mysql2' ? 'mysql' : 'sqlite';
  return (name) => quoteIdent(dialect, name);
}

/** The profile's map for a concept, or a clear error when the application has none. */
export function mapped<K extends 'cases' | 'caseStatusHistory' | 'surveys' | 'surveyResponses' | 'legalHolds' | 'progress'>(
  db: AnyDb,
  concept: K,
): NonNullable<Schema['profile'][K]> {
  const m = schemaOf(db).profile[concept];
  if (!m) throw new ConfigError(`the ${schemaOf(db).profile.name} profile maps no ${concept} table: this job has nothing to work on`, 'map the table in a profile file (docs/profiles.md), or do not schedule this job');
  return m as NonNullable<Schema['profile'][K]>;
}

/** The case map for the release and email jobs, which need ontime's release and email columns. */
export function casesWithReleaseColumns(db: AnyDb): NonNullable<Schema['profile']['cases']> {
  const m = mapped(db, 'cases');
  if (!m.releases) {
    throw new ConfigError(
      `the ${schemaOf(db).profile.name} profile's case table ${m.table} has no release or email columns: this job has nothing to work on`,
      'do not schedule release-scheduled-cases or send-scheduled-emails under this profile',
    );
  }
  return m;
}

/** The names of ontime's own tables on this connection (prefixed under non-ontime profiles). */
export function ownTables(db: AnyDb): Schema['own'] {
  return schemaOf(db).own;
}

/**
 * The profile's table for a table named as in docs/reference/schema.md (the names lists such as
 * a job's `reads` use), or null when the application has no such table.
 */
export function tableFor(db: AnyDb, ontimeName: string): string | null {
  const s = schemaOf(db);
  const p = s.profile;
  const names: Record<string, string | undefined> = {
    // The names lists use reference/schema.md's case columns: a case table without them has none to check.
    cases: p.cases?.releases ? p.cases.table : undefined,
    case_status_history: p.caseStatusHistory?.table ?? (p.cases ? s.own.caseStatusHistory : undefined),
    surveys: p.surveys?.table,
    survey_responses: p.surveyResponses?.table,
    survey_legal_holds: p.legalHolds?.table,
    survey_progress: p.progress?.table,
    survey_deletion_warnings: s.own.deletionWarnings,
    system_settings: s.settings.table,
    job_runs: s.own.jobRuns,
    job_locks: s.own.jobLocks,
    email_outbox: s.own.emailOutbox,
    audit_log: s.own.auditLog,
  };
  return names[ontimeName] ?? null;
}
