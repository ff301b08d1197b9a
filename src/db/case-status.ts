/**
 * Status moves over the profile's case table (docs/profiles.md): conditional UPDATEs that move a
 * case only while it is still at the status it was selected at, and only while it is live (the
 * profile's activeColumn = 1), stamping the profile's per-status column when it has one, with a
 * history row per case moved (the application's history table, or ontime's own prefixed one).
 * Case keys are integers or strings, as the profile says; they are always bound as values.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import type { CasesMap } from '../profiles/types.js';
import type { Shard } from '../parse.js';
import { auditMany, rowsPerInsert } from './audit.js';
import { rawRows } from './dialect.js';
import { identFor, mapped, schemaOf } from './schema.js';
import { whereShard } from './shard.js';
import { toDbInstant } from './time.js';

type Db = Knex | Knex.Transaction;

/** A case's primary key: a number, or the string the application chose. */
export type CaseKey = number | string;

export interface CaseStatusRow {
  key: CaseKey;
  reference: string;
  status: number;
}

/** Keys in the form the profile's id column holds, for comparisons and maps. */
export function normalKey(map: CasesMap, key: unknown): CaseKey {
  return map.idKind === 'string' ? String(key) : Number(key);
}

function live(q: Knex.QueryBuilder, map: CasesMap): Knex.QueryBuilder {
  return map.activeColumn ? q.where(map.activeColumn, 1) : q;
}

function columns(map: CasesMap) {
  return { key: map.id, reference: map.reference ?? map.id, status: map.status };
}

function rowOf(map: CasesMap, r: { key: unknown; reference: unknown; status: unknown }): CaseStatusRow {
  return { key: normalKey(map, r.key), reference: String(r.reference), status: Number(r.status) };
}

/** One keyset page of live cases at `status` (key > afterKey), optionally only among `keys`. */
export async function selectCasesAtStatus(
  db: Db,
  status: number,
  keys: CaseKey[] | undefined,
  afterKey: CaseKey | null,
  size: number,
  shard?: Shard,
): Promise<CaseStatusRow[]> {
  const map = mapped(db, 'cases');
  let q = live(db(map.table).select(columns(map)).where(map.status, status), map).modify(whereShard, shard, map.id);
  if (afterKey !== null) q = q.where(map.id, '>', afterKey);
  if (keys) q = q.whereIn(map.id, keys);
  const rows = await q.orderBy(map.id).limit(size);
  return rows.map((r: { key: unknown; reference: unknown; status: unknown }) => rowOf(map, r));
}

/** The current status of the given live cases (absent or inactive ones are missing from the answer). */
export async function statusesOf(db: Db, keys: CaseKey[]): Promise<Map<CaseKey, CaseStatusRow>> {
  const map = mapped(db, 'cases');
  const found = new Map<CaseKey, CaseStatusRow>();
  // Chunked: SQLite and the drivers limit bound parameters per statement.
  for (let i = 0; i < keys.length; i += 500) {
    const rows = await live(db(map.table).select(columns(map)).whereIn(map.id, keys.slice(i, i + 500)), map);
    for (const r of rows) {
      const row = rowOf(map, r);
      found.set(row.key, row);
    }
  }
  return found;
}

export interface StatusMove {
  dialect: Dialect;
  from: number;
  to: number;
  now: Date;
  /** The history row's source, e.g. `job:weekly-paid-update` */
  source: string;
  runId: number | null;
}

/**
 * Move those of `keys` that are still live and at `from` to `to`, and write a history row for
 * each. The UPDATE is conditional on the old status, so a case another program changed since
 * selection is left alone and gets no history row. Returns the keys actually moved.
 *
 * Knowing exactly which rows changed: PostgreSQL and SQLite (3.35+) use `UPDATE … RETURNING`,
 * one statement (on SQLite it takes the write lock at once, so there is no read-then-write
 * upgrade that could fail). MariaDB has no UPDATE … RETURNING: the rows still at `from` are
 * re-selected FOR UPDATE, which locks them until commit, so the UPDATE that follows changes
 * exactly those.
 */
export async function moveCaseStatus(trx: Knex.Transaction, move: StatusMove, keys: CaseKey[]): Promise<CaseKey[]> {
  if (keys.length === 0) return [];
  const map = mapped(trx, 'cases');
  const at = toDbInstant(move.dialect, move.now);
  const changes: Record<string, unknown> = { [map.status]: move.to };
  if (map.updatedAt) changes[map.updatedAt] = at;
  const stamp = map.statusTimestamps[String(move.to)];
  if (stamp) changes[stamp] = at;
  const still = () => live(trx(map.table).whereIn(map.id, keys).where(map.status, move.from), map);
  let moved: CaseKey[];
  if (move.dialect === 'mysql') {
    const locked: Array<{ key: unknown }> = await still().select({ key: map.id }).orderBy(map.id).forUpdate();
    moved = locked.map((r) => normalKey(map, r.key));
    if (moved.length > 0) await live(trx(map.table).whereIn(map.id, moved).where(map.status, move.from), map).update(changes);
  } else {
    const changed: Array<Record<string, unknown> | unknown> = await still().update(changes, [map.id]);
    moved = changed.map((r) => normalKey(map, typeof r === 'object' && r !== null ? (r as Record<string, unknown>)[map.id] : r));
    moved.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
  await insertStatusHistory(trx, move, moved);
  return moved;
}

/** The history table: the application's when the profile maps one, else ontime's own prefixed table. */
export function historyTable(db: Db): string {
  const schema = schemaOf(db);
  return schema.profile.caseStatusHistory?.table ?? schema.own.caseStatusHistory;
}

/** History rows for the cases a batch moved, as few multi-row INSERTs as the parameter limit allows. */
async function insertStatusHistory(trx: Knex.Transaction, move: StatusMove, moved: CaseKey[]): Promise<void> {
  const at = toDbInstant(move.dialect, move.now);
  const table = historyTable(trx);
  // Chunked: SQLite limits the terms of the INSERT knex writes, and --batch-size may be large.
  const chunk = rowsPerInsert(move.dialect);
  for (let i = 0; i < moved.length; i += chunk) {
    await trx(table).insert(
      moved
        .slice(i, i + chunk)
        .map((key) => ({ case_id: key, from_status: move.from, to_status: move.to, changed_at: at, source: move.source, run_id: move.runId })),
    );
  }
}

// ---------------------------------------------------------------------------------------------
// One statement per batch (integer keys): pick, move and record a batch inside its transaction

/** Instants and ids bound into a PostgreSQL INSERT … SELECT need their types said. */
const pgAuditInsert = (trx: Knex.Transaction) =>
  `INSERT INTO ${identFor(trx)(schemaOf(trx).own.auditLog)} (at, actor, action, subject_type, subject_id, details, run_id)`;

/**
 * Move the next batch of live cases at `from` (at most `size`, key > afterKey) to `to`, with a
 * history and an audit row (`action`, details `{"from":…,"to":…}`) for each, and return the cases
 * moved in key order. The status condition is part of the UPDATE, so a case changed meanwhile is
 * left. Only for integer keys (the runner's keyset paging).
 *
 * The batch is a key range: its upper end is the key of the `size`-th case at `from` after
 * afterKey, a scalar subquery over the primary key, so the UPDATE is an index range scan (where
 * `key IN (SELECT … LIMIT n)` plans as a scan of every case at `from` on PostgreSQL).
 * PostgreSQL: one data-modifying CTE, one round trip (UPDATE … RETURNING, then both INSERT …
 * SELECT from it). SQLite: `UPDATE … RETURNING`, then multi-row INSERTs. Not for MariaDB: it has no
 * UPDATE … RETURNING, and a locking `SELECT … ORDER BY id LIMIT n FOR UPDATE` measured slower
 * there than moveCaseStatus after a keyset select (docs/performance.md).
 */
export async function takeStatusMoveBatch(
  trx: Knex.Transaction,
  move: StatusMove,
  action: string,
  afterKey: number,
  size: number,
  shard?: Shard,
): Promise<CaseStatusRow[]> {
  const map = mapped(trx, 'cases');
  const at = toDbInstant(move.dialect, move.now);
  const details = JSON.stringify({ from: move.from, to: move.to });
  const changes: Record<string, unknown> = { [map.status]: move.to };
  if (map.updatedAt) changes[map.updatedAt] = at;
  const stamp = map.statusTimestamps[String(move.to)];
  if (stamp) changes[stamp] = at;
  const atFrom = () => live(trx(map.table).where(map.status, move.from), map).modify(whereShard, shard, map.id);
  const upper = trx.from(atFrom().select(map.id).where(map.id, '>', afterKey).orderBy(map.id).limit(size).as('picked')).max(map.id);
  const cols = columns(map);
  const returned = [...new Set([cols.key, cols.reference, cols.status])];
  const update = atFrom().where(map.id, '>', afterKey).where(map.id, '<=', upper).update(changes).returning(returned);
  const q = identFor(trx);
  const asRow = (r: Record<string, unknown>) => rowOf(map, { key: r[cols.key], reference: r[cols.reference], status: move.to });
  if (move.dialect === 'postgres') {
    const u = update.toSQL();
    const id = `moved.${q(cols.key)}`;
    const sql = `WITH moved AS (${u.sql}),
      history AS (INSERT INTO ${q(historyTable(trx))} (case_id, from_status, to_status, changed_at, source, run_id)
        SELECT ${id}, ?::integer, ?::integer, ?::timestamptz, ?, ?::bigint FROM moved ORDER BY ${id}),
      logged AS (${pgAuditInsert(trx)}
        SELECT ?::timestamptz, ?, ?, 'case', ${id}::text, ?, ?::bigint FROM moved ORDER BY ${id})
      SELECT ${returned.map(q).join(', ')} FROM moved ORDER BY ${q(cols.key)}`;
    const bindings = [...(u.bindings as Knex.Value[]), move.from, move.to, at, move.source, move.runId, at, move.source, action, details, move.runId];
    return rawRows<Record<string, unknown>>(await trx.raw(sql, bindings)).map(asRow);
  }
  const moved = ((await update) as Array<Record<string, unknown>>).map(asRow).sort((a, b) => Number(a.key) - Number(b.key));
  const keys = moved.map((r) => r.key);
  await insertStatusHistory(trx, move, keys);
  await auditMany(trx, { actor: move.source, runId: move.runId, now: move.now, dialect: move.dialect }, keys.map((key) => ({ action, subjectType: 'case', subjectId: key, details: { from: move.from, to: move.to } })));
  return moved;
}
