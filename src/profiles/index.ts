/**
 * Which profile this installation runs under (docs/profiles.md): ONTIME_PROFILE names a built-in,
 * ONTIME_PROFILE_FILE loads one written by the operator (JSON, or YAML loaded lazily), and
 * ONTIME_TABLE_PREFIX / ONTIME_CALENDAR_TIMEZONE adjust it. Returns the Schema the data layer
 * uses: the profile and the resolved names of ontime's own tables.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { advisorPortalProfile } from './advisor-portal.js';
import { checktickProfile } from './checktick.js';
import { ontimeProfile } from './ontime.js';
import { surgicaseProfile } from './surgicase.js';
import type { OwnTables, Profile, Schema } from './types.js';
import { isIdentifier, isTimeZone, validateProfile } from './validate.js';

export const BUILT_IN_PROFILES: Readonly<Record<string, Profile>> = {
  ontime: ontimeProfile,
  checktick: checktickProfile,
  surgicase: surgicaseProfile,
  'advisor-portal': advisorPortalProfile,
};

/** The names of ontime's own tables under a prefix ('' keeps today's names). */
export function ownTables(prefix: string): OwnTables {
  return {
    jobRuns: `${prefix}job_runs`,
    jobLocks: `${prefix}job_locks`,
    emailOutbox: `${prefix}email_outbox`,
    auditLog: `${prefix}audit_log`,
    settings: `${prefix}system_settings`,
    deletionWarnings: `${prefix}survey_deletion_warnings`,
    caseStatusHistory: `${prefix}case_status_history`,
    migrations: `${prefix}knex_migrations`,
  };
}

/** A profile and a prefix → the Schema. Under the ontime profile the default prefix is empty. */
export function schemaFor(profile: Profile, prefix?: string): Schema {
  const p = prefix ?? (profile.createsApplicationTables ? '' : 'ontime_');
  const own = ownTables(p);
  return {
    profile,
    prefix: p,
    own,
    settings: profile.settings ?? { table: own.settings },
  };
}

/** The schema every connection gets unless configured otherwise: today's tables and rules. */
export const DEFAULT_SCHEMA: Schema = schemaFor(ontimeProfile);

function parseFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`ONTIME_PROFILE_FILE: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    if (/\.json$/i.test(path)) return JSON.parse(text);
    // YAML (a superset of JSON) only when a profile file is used: the package loads lazily.
    const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
    return yaml.parse(text);
  } catch (err) {
    throw new ConfigError(`ONTIME_PROFILE_FILE: ${path} is not valid ${/\.json$/i.test(path) ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** The environment → the Schema (ConfigError, exit 78, naming the variable or the key). */
export function resolveSchema(env: Record<string, string | undefined>, cwd: string): Schema {
  const name = env.ONTIME_PROFILE?.trim();
  const file = env.ONTIME_PROFILE_FILE?.trim();
  if (name && file) {
    throw new ConfigError('both ONTIME_PROFILE and ONTIME_PROFILE_FILE are set', 'set one: a profile file names its built-in base with `extends`');
  }
  let profile: Profile;
  if (file) {
    const path = resolve(cwd, file);
    profile = validateProfile(parseFile(path), BUILT_IN_PROFILES, `ONTIME_PROFILE_FILE ${path}`);
  } else {
    const chosen = BUILT_IN_PROFILES[name || 'ontime'];
    if (!chosen) throw new ConfigError(`ONTIME_PROFILE "${name}" is not a built-in profile`, `use one of ${Object.keys(BUILT_IN_PROFILES).join(', ')}, or ONTIME_PROFILE_FILE`);
    profile = chosen;
  }
  const zone = env.ONTIME_CALENDAR_TIMEZONE?.trim();
  if (zone) {
    if (!isTimeZone(zone)) throw new ConfigError(`ONTIME_CALENDAR_TIMEZONE "${zone}" is not a time zone this system knows`, 'use an IANA name such as America/Chicago');
    profile = { ...profile, calendarTimezone: zone };
  }
  const prefix = env.ONTIME_TABLE_PREFIX;
  if (prefix !== undefined && prefix !== '' && !isIdentifier(`${prefix}x`)) {
    throw new ConfigError(`ONTIME_TABLE_PREFIX "${prefix}" must be letters, digits and _`);
  }
  const schema = schemaFor(profile, prefix === undefined ? undefined : prefix);
  if (!profile.createsApplicationTables) assertNoCollision(schema);
  return schema;
}

/** ontime's own tables must never be one of the application's. */
function assertNoCollision(schema: Schema): void {
  const p = schema.profile;
  const app = new Set([p.cases, p.caseStatusHistory, p.surveys, p.surveyResponses, p.legalHolds, p.progress, p.settings].filter(Boolean).map((m) => m!.table));
  if (p.surveys?.owner.kind === 'user') app.add(p.surveys.owner.table);
  const rule = p.cases?.statusRelease;
  if (rule) {
    for (const ins of [...rule.onRelease, ...rule.onMail]) app.add(ins.table);
    app.add(rule.switches.table).add(rule.recipients.table);
    if (rule.recipients.links) app.add(rule.recipients.links.table);
  }
  for (const own of Object.values(schema.own)) {
    if (own === schema.settings.table && p.settings) continue;
    // ontime's own history table exists only when the application has none.
    if (own === schema.own.caseStatusHistory && (p.caseStatusHistory || !p.cases)) continue;
    if (app.has(own)) {
      throw new ConfigError(`ONTIME_TABLE_PREFIX: ontime's table ${own} would be the application's table of the same name`, 'choose a prefix such as ontime_');
    }
  }
}

export type { Profile, Schema, OwnTables } from './types.js';
