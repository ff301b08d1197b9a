/**
 * A profile written by an operator (JSON or YAML, already parsed) → a checked Profile. Pure: no
 * file, no database. The file names a built-in profile to start from (`extends`, default
 * `ontime`) and overrides what differs; every key is checked against the built-in's shape, every
 * table or column name must be a plain SQL identifier, and every error names the offending key.
 */
import { ConfigError } from '../errors.js';
import type { Profile } from './types.js';
import { checkProfileTemplates, profileFields } from '../mail/templates/profile.js';
import { checkStatusRelease } from './validate-status-release.js';

/** `name` or `schema.name`: letters, digits, underscores; nothing a quote could break out of. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/;
export function isIdentifier(name: string): boolean {
  return IDENTIFIER.test(name);
}

/** Keys whose value is not a table or column name. */
const ENUMS: Record<string, readonly string[]> = {
  'rules.surveysEligible': ['any', 'closed'],
  'rules.hardDeletion': ['after-soft-deletion', 'hard-deletion-date'],
  'rules.progressExpiry': ['expired-or-stale-undated', 'expired-or-stale'],
  'rules.hardDeletionChildren': ['listed', 'foreign-keys'],
  'surveys.owner.kind': ['columns', 'user'],
  'cases.idKind': ['integer', 'string'],
};
const KIND_NAMES = ['user', 'session', 'token'];

/** The shape of surveys.owner for each kind: every key it may have, and which may be null. */
const OWNER_SHAPES: Record<string, Record<string, 'id' | 'id?'>> = {
  columns: { email: 'id', name: 'id?' },
  user: { ownerId: 'id', table: 'id', id: 'id', email: 'id', name: 'id?' },
};

export type ProfileError = { key: string; message: string };

function fail(source: string, key: string, message: string): never {
  throw new ConfigError(`${source}: ${key}: ${message}`, 'see docs/profiles.md for the profile format');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Merge `raw` over `base`, checking each key against base's shape. Maps that are null in the
 * base (a concept the base application lacks) take the ontime profile's shape as reference.
 */
export function validateProfile(raw: unknown, bases: Record<string, Profile>, source: string): Profile {
  if (!isObject(raw)) fail(source, '(top level)', 'must be a mapping of keys to values');
  const extendsName = raw.extends ?? 'ontime';
  if (typeof extendsName !== 'string' || !bases[extendsName]) {
    fail(source, 'extends', `must name a built-in profile (${Object.keys(bases).join(', ')})`);
  }
  const base = structuredClone(bases[extendsName]!);
  const reference = bases.ontime!;
  const out = base as unknown as Record<string, unknown>;
  // A file never creates application tables: only the built-in ontime profile does.
  base.createsApplicationTables = false;
  base.name = 'custom';
  // Templates last: a status release rule's fields are offered to them.
  const entries = Object.entries(raw).sort(([a], [b]) => Number(a === 'templates') - Number(b === 'templates'));
  for (const [key, value] of entries) {
    if (key === 'extends') continue;
    if (key === 'templates') {
      out.templates = { ...base.templates, ...checkProfileTemplates(source, value, profileFields(base)) };
      continue;
    }
    if (key === 'createsApplicationTables') fail(source, key, 'cannot be set in a file: only the built-in ontime profile creates application tables');
    if (!(key in reference)) fail(source, key, `unknown key (known: extends, ${Object.keys(reference).join(', ')})`);
    out[key] = mergeKey(source, key, value, out[key], (reference as unknown as Record<string, unknown>)[key]);
  }
  return checkProfile(base, source);
}

function mergeKey(source: string, key: string, value: unknown, current: unknown, reference: unknown): unknown {
  if (key === 'cases.statusRelease') return checkStatusRelease(source, key, value);
  if (ENUMS[key]) {
    if (typeof value !== 'string' || !ENUMS[key]!.includes(value)) fail(source, key, `must be one of ${ENUMS[key]!.join(', ')}`);
    return value;
  }
  if (key === 'surveys.owner') {
    if (!isObject(value)) fail(source, key, 'must be a mapping (kind: columns | user)');
    const kind = value.kind ?? (isObject(current) ? current.kind : undefined);
    mergeKey(source, `${key}.kind`, kind, undefined, undefined);
    const shape = OWNER_SHAPES[kind as string]!;
    const merged: Record<string, unknown> = { kind };
    const prior = isObject(current) && current.kind === kind ? current : {};
    for (const k of Object.keys(value)) if (k !== 'kind' && !(k in shape)) fail(source, `${key}.${k}`, `unknown key for owner kind ${String(kind)}`);
    for (const [k, need] of Object.entries(shape)) {
      const v = k in value ? value[k] : prior[k];
      if (v === undefined || (v === null && need === 'id')) fail(source, `${key}.${k}`, 'is required');
      if (v !== null && (typeof v !== 'string' || !isIdentifier(v))) fail(source, `${key}.${k}`, 'must be an SQL identifier (letters, digits, _; optionally schema.name)');
      merged[k] = v;
    }
    return merged;
  }
  if (reference === undefined) fail(source, key, 'unknown key');
  if (isObject(reference)) {
    if (value === null) return null;
    if (!isObject(value)) fail(source, key, 'must be a mapping, or null when the application has no such table');
    const target: Record<string, unknown> = isObject(current) ? { ...current } : {};
    for (const [k, v] of Object.entries(value)) {
      const optional = key === 'cases' && k === 'statusRelease';
      if (!(k in reference) && !optional) fail(source, `${key}.${k}`, `unknown key (known: ${Object.keys(reference).join(', ')})`);
      target[k] = mergeKey(source, `${key}.${k}`, v, target[k], reference[k]);
    }
    for (const k of Object.keys(reference)) {
      if (!(k in target)) fail(source, `${key}.${k}`, 'is required');
    }
    return target;
  }
  return scalar(source, key, value, reference);
}

function scalar(source: string, key: string, value: unknown, reference: unknown): unknown {
  if (key === 'rules.progressKindOrder') {
    if (!Array.isArray(value) || value.length !== 3 || new Set(value).size !== 3 || !value.every((v) => KIND_NAMES.includes(v as string))) {
      fail(source, key, `must list ${KIND_NAMES.join(', ')}, each once, in the order a row is counted`);
    }
    return value;
  }
  if (key === 'rules.warningsSince') {
    if (value === null || value === 'first-run') return value;
    const at = typeof value === 'string' ? new Date(value) : value instanceof Date ? value : undefined;
    if (!at || Number.isNaN(at.getTime())) fail(source, key, 'must be an ISO instant such as 2026-12-01T00:00:00Z, first-run, or null');
    return at.toISOString();
  }
  if (typeof reference === 'number') {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 3650) fail(source, key, 'must be a whole number of days from 1 to 3650');
    return value;
  }
  if (typeof reference === 'boolean') {
    if (typeof value !== 'boolean') fail(source, key, 'must be true or false');
    return value;
  }
  if (key === 'name' || key === 'description') {
    if (typeof value !== 'string' || !value.trim()) fail(source, key, 'must be a non-empty string');
    return value;
  }
  if (key === 'calendarTimezone') {
    if (typeof value !== 'string' || !isTimeZone(value)) fail(source, key, 'must be an IANA time zone such as America/Chicago');
    return value;
  }
  // Everything else is a table or column name; null only where the ontime profile allows it.
  if (value === null && reference === null) return null;
  if (value === null && /^(surveys\.(closedAt|hardDeletionDate)|cases\.(reference|updatedAt))$/.test(key)) return null;
  if (typeof value !== 'string' || !isIdentifier(value)) fail(source, key, 'must be an SQL identifier (letters, digits, _; optionally schema.name)');
  return value;
}

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Rules that span keys: a rule variant needs the columns it uses. */
export function checkProfile(p: Profile, source: string): Profile {
  if (p.rules.surveysEligible === 'closed' && p.surveys && !p.surveys.closedAt) {
    fail(source, 'surveys.closedAt', 'is required by rules.surveysEligible: closed');
  }
  if (p.rules.hardDeletion === 'hard-deletion-date' && p.surveys && !p.surveys.hardDeletionDate) {
    fail(source, 'surveys.hardDeletionDate', 'is required by rules.hardDeletion: hard-deletion-date');
  }
  if (p.createsApplicationTables && p.name !== 'ontime') {
    fail(source, 'createsApplicationTables', "only the built-in ontime profile creates application tables");
  }
  const children = [p.surveyResponses, p.legalHolds, p.progress];
  if (!p.surveys && children.some(Boolean)) {
    fail(source, 'surveys', 'is null but surveyResponses, legalHolds or progress is mapped: they belong to a survey');
  }
  if (!p.cases && p.caseStatusHistory) fail(source, 'caseStatusHistory', 'is mapped but cases is null');
  return p;
}
