/**
 * A profile file's `cases.statusRelease` (types.ts StatusReleaseRule; docs/profiles.md) → the
 * checked rule. Pure. Every table and column must be a plain identifier, every write value one of
 * the documented forms; each error names the key, as the rest of the profile's validation does.
 */
import { ConfigError } from '../errors.js';
import type { ProfileInsert, StatusReleaseRule, WriteValue } from './types.js';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/;

function fail(source: string, key: string, message: string): never {
  throw new ConfigError(`${source}: ${key}: ${message}`, 'see docs/profiles.md for the profile format');
}

function obj(source: string, key: string, v: unknown, keys: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(source, key, 'must be a mapping');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!keys.includes(k)) fail(source, `${key}.${k}`, `unknown key (known: ${keys.join(', ')})`);
  for (const k of keys) if (!(k in o) && !optional.includes(k)) fail(source, `${key}.${k}`, 'is required');
  return o;
}

function ident(source: string, key: string, v: unknown): string {
  if (typeof v !== 'string' || !IDENT.test(v)) fail(source, key, 'must be an SQL identifier (letters, digits, _; optionally schema.name)');
  return v;
}

function identList(source: string, key: string, v: unknown): string[] {
  if (!Array.isArray(v)) fail(source, key, 'must be a list of column names');
  return v.map((c, i) => ident(source, `${key}[${i}]`, c));
}

function writeValue(source: string, key: string, v: unknown): WriteValue {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.keys(v).length !== 1) {
    fail(source, key, 'must be one of {now: true}, {field: name}, {literal: value}, {template: text}, {json: {…}}');
  }
  const [[form, x]] = Object.entries(v as Record<string, unknown>) as [[string, unknown]];
  switch (form) {
    case 'now':
      if (x !== true) fail(source, `${key}.now`, 'must be true');
      return { now: true };
    case 'field':
      return { field: ident(source, `${key}.field`, x) };
    case 'literal':
      if (x !== null && !['string', 'number', 'boolean'].includes(typeof x)) fail(source, `${key}.literal`, 'must be a string, number, boolean or null');
      return { literal: x as string | number | boolean | null };
    case 'template':
      if (typeof x !== 'string') fail(source, `${key}.template`, 'must be text');
      return { template: x };
    case 'json': {
      const o = obj(source, `${key}.json`, x, Object.keys((x as object) ?? {}));
      return { json: Object.fromEntries(Object.entries(o).map(([k, w]) => [k, writeValue(source, `${key}.json.${k}`, w)])) };
    }
    default:
      return fail(source, key, `unknown value form ${form} (known: now, field, literal, template, json)`);
  }
}

function inserts(source: string, key: string, v: unknown): ProfileInsert[] {
  if (!Array.isArray(v)) fail(source, key, 'must be a list of rows to insert');
  return v.map((item, i) => {
    const k = `${key}[${i}]`;
    const o = obj(source, k, item, ['table', 'values', 'unlessOff'], ['unlessOff']);
    const values = obj(source, `${k}.values`, o.values, Object.keys((o.values as object) ?? {}));
    if (Object.keys(values).length === 0) fail(source, `${k}.values`, 'must name at least one column');
    let unlessOff: ProfileInsert['unlessOff'] = null;
    if (o.unlessOff !== undefined && o.unlessOff !== null) {
      const u = obj(source, `${k}.unlessOff`, o.unlessOff, ['via', 'table', 'id', 'column']);
      unlessOff = { via: ident(source, `${k}.unlessOff.via`, u.via), table: ident(source, `${k}.unlessOff.table`, u.table), id: ident(source, `${k}.unlessOff.id`, u.id), column: ident(source, `${k}.unlessOff.column`, u.column) };
    }
    return {
      table: ident(source, `${k}.table`, o.table),
      values: Object.fromEntries(Object.entries(values).map(([col, w]) => [ident(source, `${k}.values`, col), writeValue(source, `${k}.values.${col}`, w)])),
      unlessOff,
    };
  });
}

/** `cases.statusRelease` of a profile file; null keeps ontime's release rule. */
export function checkStatusRelease(source: string, key: string, v: unknown): StatusReleaseRule | null {
  if (v === null) return null;
  const o = obj(source, key, v, ['status', 'switches', 'fillNow', 'onRelease', 'recipients', 'onMail', 'fields'], ['fillNow', 'onRelease', 'onMail', 'fields']);
  if (typeof o.status !== 'string' || !o.status.trim()) fail(source, `${key}.status`, 'must be the status value of a releasable case');
  const s = obj(source, `${key}.switches`, o.switches, ['table', 'release', 'email']);
  const r = obj(source, `${key}.recipients`, o.recipients, ['via', 'table', 'id', 'email', 'preferredEmail', 'links'], ['preferredEmail', 'links']);
  let links: StatusReleaseRule['recipients']['links'] = null;
  if (r.links !== undefined && r.links !== null) {
    const l = obj(source, `${key}.recipients.links`, r.links, ['table', 'from', 'to']);
    links = { table: ident(source, `${key}.recipients.links.table`, l.table), from: ident(source, `${key}.recipients.links.from`, l.from), to: ident(source, `${key}.recipients.links.to`, l.to) };
  }
  const fields = obj(source, `${key}.fields`, o.fields ?? {}, Object.keys((o.fields as object) ?? {}));
  return {
    status: o.status,
    switches: { table: ident(source, `${key}.switches.table`, s.table), release: ident(source, `${key}.switches.release`, s.release), email: ident(source, `${key}.switches.email`, s.email) },
    fillNow: o.fillNow === undefined ? [] : identList(source, `${key}.fillNow`, o.fillNow),
    onRelease: o.onRelease === undefined ? [] : inserts(source, `${key}.onRelease`, o.onRelease),
    recipients: {
      via: ident(source, `${key}.recipients.via`, r.via),
      table: ident(source, `${key}.recipients.table`, r.table),
      id: ident(source, `${key}.recipients.id`, r.id),
      email: ident(source, `${key}.recipients.email`, r.email),
      preferredEmail: r.preferredEmail === undefined || r.preferredEmail === null ? null : ident(source, `${key}.recipients.preferredEmail`, r.preferredEmail),
      links,
    },
    onMail: o.onMail === undefined ? [] : inserts(source, `${key}.onMail`, o.onMail),
    fields: Object.fromEntries(Object.entries(fields).map(([name, cols]) => [ident(source, `${key}.fields`, name), identList(source, `${key}.fields.${name}`, cols)])),
  };
}
