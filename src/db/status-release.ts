/**
 * The release and mail queries of a profile whose application marks a case ready by a status
 * (profiles/types.ts StatusReleaseRule; the advisor portal): instants compared as instants, no
 * hold predicate (a hold is another status), the settings as one row of boolean columns, and the
 * profile-declared rows a release or an accepted mail adds, all in the caller's transaction.
 * Names come from the profile (validated identifiers, bound through knex); values are bound.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import type { CasesMap, ProfileInsert, StatusReleaseRule, WriteValue } from '../profiles/types.js';
import { mapped } from './schema.js';
import { toDbInstant } from './time.js';

type Db = Knex | Knex.Transaction;
export type StatusCaseRow = Record<string, unknown> & { id: number };

/** The profile's cases map with its status rule (callers checked it is there). */
export function statusRule(db: Db): { cases: CasesMap; rule: StatusReleaseRule } {
  const cases = mapped(db, 'cases');
  return { cases, rule: cases.statusRelease! };
}

/** One switch of the settings row: true/false, or null when the table has no row. */
export async function settingsSwitch(db: Db, which: 'release' | 'email'): Promise<boolean | null> {
  const s = statusRule(db).rule.switches;
  const row = await db(s.table).orderBy('id').first({ v: s[which] });
  if (!row) return null;
  const v = row.v;
  return v === true || v === 1 || v === '1' || v === 't' || v === 'true';
}

/** Released by the rule at `now`: the status, the instant passed, not released yet. */
function releasable(q: Knex.QueryBuilder, cases: CasesMap, rule: StatusReleaseRule, at: Date | string): Knex.QueryBuilder {
  return q
    .where(cases.status, rule.status)
    .whereNull('actual_release_date')
    .whereNotNull('scheduled_release_date')
    .where('scheduled_release_date', '<=', at);
}

/** One keyset page of releasable cases (id and reference only). */
export function selectReleasable(db: Db, dialect: Dialect, now: Date, afterId: number, size: number): Promise<StatusCaseRow[]> {
  const { cases, rule } = statusRule(db);
  const cols = cases.reference ? [cases.id, cases.reference] : [cases.id];
  return releasable(db(cases.table), cases, rule, toDbInstant(dialect, now))
    .select(cols)
    .where(cases.id, '>', afterId)
    .orderBy(cases.id)
    .limit(size)
    .then((rows: StatusCaseRow[]) => rows.map((r) => ({ ...r, id: Number(r[cases.id]) })));
}

/** Cases whose scheduled instant passed but whose status is not the releasable one (reported, not released). */
export async function countOtherStatus(db: Db, dialect: Dialect, now: Date): Promise<number> {
  const { cases, rule } = statusRule(db);
  const rows = await db(cases.table)
    .whereNot(cases.status, rule.status)
    .whereNull('actual_release_date')
    .whereNotNull('scheduled_release_date')
    .where('scheduled_release_date', '<=', toDbInstant(dialect, now))
    .count({ n: '*' });
  return Number((rows[0] as { n: unknown }).n ?? 0);
}

/** The columns a write or a template may read: the fields' columns and every `field` value. */
function readColumns(cases: CasesMap, rule: StatusReleaseRule, inserts: ProfileInsert[]): string[] {
  const cols = new Set<string>([cases.id, ...(cases.reference ? [cases.reference] : []), rule.recipients.via]);
  for (const c of Object.values(rule.fields).flat()) cols.add(c);
  for (const ins of inserts) if (ins.unlessOff) cols.add(ins.unlessOff.via);
  return [...cols];
}

/**
 * Release those of `ids` still releasable (re-checked here, rows locked where the database can):
 * actual_release_date = now, each `fillNow` column = now where null, then the `onRelease` rows.
 * Returns the released rows (the columns the writes read).
 */
export async function releaseByStatus(trx: Knex.Transaction, dialect: Dialect, ids: number[], now: Date): Promise<StatusCaseRow[]> {
  if (ids.length === 0) return [];
  const { cases, rule } = statusRule(trx);
  const at = toDbInstant(dialect, now);
  const select = releasable(trx(cases.table), cases, rule, at).select(readColumns(cases, rule, rule.onRelease)).whereIn(cases.id, ids).orderBy(cases.id);
  const rows: StatusCaseRow[] = (await (dialect === 'sqlite' ? select : select.forUpdate())).map((r: StatusCaseRow) => ({ ...r, id: Number(r[cases.id]) }));
  if (rows.length === 0) return [];
  const changes: Record<string, unknown> = { actual_release_date: at };
  if (cases.updatedAt) changes[cases.updatedAt] = at;
  for (const c of rule.fillNow) changes[c] = trx.raw('COALESCE(??, ?)', [c, at]);
  await trx(cases.table).whereIn(cases.id, rows.map((r) => r.id)).whereNull('actual_release_date').update(changes);
  await insertRows(trx, dialect, rule, rule.onRelease, rows.map((r) => ({ row: r, extra: {} })), now);
  return rows;
}

/** The text of a case's computed fields (columns joined by a space, trimmed). */
export function computedFields(rule: StatusReleaseRule, row: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, cols] of Object.entries(rule.fields)) out[name] = cols.map((c) => String(row[c] ?? '').trim()).filter(Boolean).join(' ');
  return out;
}

function fill(template: string, values: Record<string, unknown>): string {
  return template.replace(/\{([a-z_][a-z0-9_]*)\}/gi, (_, k: string) => String(values[k] ?? ''));
}

function valueOf(v: WriteValue, values: Record<string, unknown>, at: Date | string): unknown {
  if ('now' in v) return at;
  if ('field' in v) return values[v.field] ?? null;
  if ('literal' in v) return v.literal;
  if ('template' in v) return fill(v.template, values);
  return JSON.stringify(Object.fromEntries(Object.entries(v.json).map(([k, x]) => [k, valueOf(x, values, at)]).map(([k, x]) => [k, x instanceof Date ? x.toISOString() : x])));
}

/**
 * Add the profile-declared rows for each case (its columns, computed fields and `extra` fill the
 * values), leaving out a case whose opt-out column is false or whose link column is null.
 */
export async function insertRows(
  trx: Knex.Transaction,
  dialect: Dialect,
  rule: StatusReleaseRule,
  inserts: ProfileInsert[],
  items: Array<{ row: StatusCaseRow; extra: Record<string, unknown> }>,
  now: Date,
): Promise<void> {
  const at = toDbInstant(dialect, now);
  for (const ins of inserts) {
    let chosen = items;
    if (ins.unlessOff) {
      const u = ins.unlessOff;
      const linked = [...new Set(items.map((i) => i.row[u.via]).filter((v) => v !== null && v !== undefined))];
      const off = linked.length === 0 ? [] : await trx(u.table).whereIn(u.id, linked as Knex.Value[]).where(u.column, dialect === 'postgres' ? false : 0).pluck(u.id);
      const offSet = new Set(off.map(String));
      chosen = items.filter((i) => i.row[u.via] !== null && i.row[u.via] !== undefined && !offSet.has(String(i.row[u.via])));
    }
    if (chosen.length === 0) continue;
    const rows = chosen.map(({ row, extra }) => {
      const values = { ...row, ...computedFields(rule, row), ...extra };
      return Object.fromEntries(Object.entries(ins.values).map(([col, v]) => [col, valueOf(v, values, at)]));
    });
    await trx(ins.table).insert(rows);
  }
}

/** The sweep's condition: released under the rule, mail not gone, a user to mail. */
function mailPending(q: Knex.QueryBuilder, cases: CasesMap, rule: StatusReleaseRule): Knex.QueryBuilder {
  return q.where(cases.status, rule.status).whereNotNull('actual_release_date').whereNull('actual_email_sent_date').whereNotNull(rule.recipients.via);
}

/** One keyset page of released cases whose mail has not gone (the columns templates and writes read). */
export async function selectMailPending(db: Db, afterId: number, size: number): Promise<StatusCaseRow[]> {
  const { cases, rule } = statusRule(db);
  const rows: StatusCaseRow[] = await mailPending(db(cases.table), cases, rule)
    .select(readColumns(cases, rule, rule.onMail))
    .where(cases.id, '>', afterId)
    .orderBy(cases.id)
    .limit(size);
  return rows.map((r) => ({ ...r, id: Number(r[cases.id]) }));
}

export async function countMailPending(db: Db): Promise<number> {
  const { cases, rule } = statusRule(db);
  const rows = await mailPending(db(cases.table), cases, rule).count({ n: '*' });
  return Number((rows[0] as { n: unknown }).n ?? 0);
}

/**
 * Each case's recipients, in order: its user, then every linked user (delegates), each by the
 * preferred address when not blank, else the address column; blank ones are left out. Values are
 * returned as stored (the job checks them).
 */
export async function recipientsOf(db: Db, rows: StatusCaseRow[]): Promise<Map<number, { user: string | null; linked: string[] }>> {
  const r = statusRule(db).rule.recipients;
  const userIds = [...new Set(rows.map((row) => row[r.via]).filter((v) => v !== null && v !== undefined))] as Knex.Value[];
  const links: Array<{ f: unknown; t: unknown }> =
    r.links && userIds.length > 0 ? await db(r.links.table).whereIn(r.links.from, userIds).select({ f: r.links.from, t: r.links.to }).orderBy(['id']) : [];
  const allIds = [...new Set([...userIds, ...links.map((l) => l.t)].map(String))];
  const cols = { id: r.id, email: r.email, ...(r.preferredEmail ? { preferred: r.preferredEmail } : {}) };
  const users: Array<{ id: unknown; email: unknown; preferred?: unknown }> = allIds.length > 0 ? await db(r.table).whereIn(r.id, allIds).select(cols) : [];
  const addressOf = new Map(
    users.map((u) => {
      const preferred = typeof u.preferred === 'string' ? u.preferred.trim() : '';
      const email = typeof u.email === 'string' ? u.email.trim() : '';
      return [String(u.id), preferred || email || null] as const;
    }),
  );
  const out = new Map<number, { user: string | null; linked: string[] }>();
  for (const row of rows) {
    const uid = String(row[r.via]);
    const linked = links.filter((l) => String(l.f) === uid).map((l) => addressOf.get(String(l.t)) ?? null).filter((a): a is string => Boolean(a));
    out.set(row.id, { user: addressOf.get(uid) ?? null, linked });
  }
  return out;
}
