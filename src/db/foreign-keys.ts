/**
 * Deleting a row together with everything that references it, when the database will not do it:
 * applications such as Django create foreign keys with no ON DELETE action (deferred on
 * PostgreSQL, so a forgotten child fails only at COMMIT). The graph is read from the catalog
 * (db/foreign-key-catalog.ts), never from a list of tables.
 *
 * The plan, built once per run (createDeletePlanCache):
 * - every table that references the root table, directly or through its children, at any depth;
 * - nullable edges inside a cycle (a self-reference such as `translated_from_id`, or a nullable
 *   link that closes a loop between two tables) are set to NULL first, not followed: the row on
 *   the other side survives unless another edge deletes it;
 * - every other edge is followed: a row is deleted when any of its foreign keys points at a row
 *   being deleted (what Django's CASCADE does in Python);
 * - deletions run leaf-first, the root table last; a cycle with no nullable edge cannot be
 *   deleted in any order and is refused with the tables and columns named.
 *
 * The root rows are fixed before anything changes (the caller's ids, confirmed and locked), and
 * every statement selects its rows through a chain of `fk IN (SELECT key FROM parent WHERE …)`
 * down to `root.key IN (<bound ids>) AND <guard>`, so the guard (e.g. "no active legal hold") is
 * evaluated again inside each changing statement; see deleteWithDependents.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { readForeignKeys, type ForeignKeyColumn } from './foreign-key-catalog.js';

/** One followed or nulled edge: `table.column` → `refTable.refColumn`. */
export interface PlanEdge {
  table: string;
  column: string;
  refTable: string;
  refColumn: string;
}

export interface DeletePlan {
  root: string;
  rootKey: string;
  /** UPDATE … SET column = NULL, run before any deletion. */
  setNull: PlanEdge[];
  /** Leaf-first; each table's rows are those whose `via` edges point at rows being deleted. The root is not in it. */
  deleteOrder: Array<{ table: string; via: PlanEdge[] }>;
  /** Every table that references the root, directly or through its children. */
  dependents: string[];
}

export interface PlanOptions {
  /** The root table's key the ids are given in (default `id`). */
  rootKey?: string;
  /** `table.column` edges to set to NULL rather than follow, beyond the nullable cycle edges. */
  setNull?: readonly string[];
}

/** The graph under the root has a cycle with no nullable edge: no order of DELETEs can succeed. */
export class UndeletableGraphError extends Error {
  constructor(
    readonly root: string,
    readonly tables: string[],
    readonly edges: string[],
  ) {
    super(
      `cannot delete from ${root} with its dependents: tables ${tables.join(', ')} reference each other through ` +
        `NOT NULL foreign keys (${edges.join(', ')}), so no deletion order works; make one of them nullable or ON DELETE CASCADE`,
    );
    this.name = 'UndeletableGraphError';
  }
}

const edgeName = (e: PlanEdge) => `${e.table}.${e.column} -> ${e.refTable}.${e.refColumn}`;

/** Strongly connected components (Tarjan) of `nodes` under `next`; only components that are cycles. */
function cycles(nodes: string[], next: (n: string) => string[]): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let counter = 0;
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || next(v).includes(v)) out.push(comp.sort());
    }
  };
  for (const n of nodes) if (!index.has(n)) visit(n);
  return out;
}

/** Build the plan from catalog rows (pure: tested without a database as well). */
export function buildDeletePlan(fks: readonly ForeignKeyColumn[], root: string, options: PlanOptions = {}): DeletePlan {
  const rootKey = options.rootKey ?? 'id';
  // Closure: tables reaching the root through referencing edges, breadth-first.
  const closure = new Set([root]);
  for (let queue = [root]; queue.length > 0; ) {
    const parent = queue.shift()!;
    for (const fk of fks) {
      if (fk.refTable !== parent || closure.has(fk.table)) continue;
      closure.add(fk.table);
      queue.push(fk.table);
    }
  }
  const inside = fks.filter((fk) => closure.has(fk.table) && closure.has(fk.refTable));
  const composite = inside.find((fk) => fk.width > 1);
  if (composite) {
    throw new Error(`cannot delete from ${root}: ${composite.table} references ${composite.refTable} through a composite foreign key (${composite.constraint}), which is not supported`);
  }
  const edges: Array<PlanEdge & { nullable: boolean }> = inside.map(({ table, column, refTable, refColumn, nullable }) => ({
    table,
    column,
    refTable,
    refColumn,
    nullable,
  }));
  const nulled = new Set<PlanEdge>();
  for (const name of options.setNull ?? []) {
    const e = edges.find((x) => `${x.table}.${x.column}` === name);
    if (!e) throw new Error(`set-null edge ${name} is not a foreign key under ${root}`);
    if (!e.nullable) throw new Error(`set-null edge ${name} is NOT NULL`);
    nulled.add(e);
  }
  const followed = () => edges.filter((e) => !nulled.has(e));
  // Graph for ordering: child -> parent (the child must go first).
  const parentsOf = (t: string) => followed().filter((e) => e.table === t).map((e) => e.refTable);
  const tables = [...closure].sort();
  for (const comp of cycles(tables, parentsOf)) {
    for (const e of followed()) if (e.nullable && comp.includes(e.table) && comp.includes(e.refTable)) nulled.add(e);
  }
  const stuck = cycles(tables, parentsOf);
  if (stuck.length > 0) {
    const comp = stuck[0];
    const names = followed().filter((e) => comp.includes(e.table) && comp.includes(e.refTable)).map(edgeName);
    throw new UndeletableGraphError(root, comp, names);
  }
  // Leaf-first: a table goes once nothing still pending references it through a followed edge.
  const order: string[] = [];
  const pending = new Set(tables);
  while (pending.size > 0) {
    const ready = [...pending].filter((t) => !followed().some((e) => e.refTable === t && e.table !== t && pending.has(e.table)));
    for (const t of ready) pending.delete(t);
    order.push(...ready);
  }
  const strip = ({ table, column, refTable, refColumn }: PlanEdge): PlanEdge => ({ table, column, refTable, refColumn });
  return {
    root,
    rootKey,
    setNull: [...nulled].map(strip).sort((a, b) => edgeName(a).localeCompare(edgeName(b))),
    deleteOrder: order
      .filter((t) => t !== root)
      .map((table) => ({ table, via: followed().filter((e) => e.table === table).map(strip) }))
      .filter((s) => s.via.length > 0),
    dependents: tables.filter((t) => t !== root),
  };
}

/** Read the catalog and build the plan. */
export async function discoverDeletePlan(db: Knex, dialect: Dialect, root: string, options: PlanOptions = {}): Promise<DeletePlan> {
  return buildDeletePlan(await readForeignKeys(db, dialect), root, options);
}

/** One discovery per run: the job makes one cache per run and asks it once per batch. */
export function createDeletePlanCache(db: Knex, dialect: Dialect): (root: string, options?: PlanOptions) => Promise<DeletePlan> {
  const plans = new Map<string, Promise<DeletePlan>>();
  return (root, options = {}) => {
    const key = JSON.stringify([root, options.rootKey ?? 'id', [...(options.setNull ?? [])].sort()]);
    let plan = plans.get(key);
    if (!plan) {
      plan = discoverDeletePlan(db, dialect, root, options);
      // A failed discovery is not remembered: the next call reads the catalog again.
      plan.catch(() => plans.delete(key));
      plans.set(key, plan);
    }
    return plan;
  };
}

/** Lines for `doctor` and dry runs: what a deletion would touch, in order. */
export function describeDeletePlan(plan: DeletePlan): string[] {
  return [
    ...plan.setNull.map((e) => `set null ${e.table}.${e.column} (-> ${e.refTable})`),
    ...plan.deleteOrder.map((s) => `delete ${s.table} where ${s.via.map((e) => `${e.column} -> ${e.refTable}`).join(' or ')}`),
    `delete ${plan.root} where ${plan.rootKey} in (ids)`,
  ];
}

/**
 * A condition on the root table's rows (unaliased: correlate with the root table's name),
 * added to every statement's root selection. Example (CheckTick): no active legal hold —
 * `qb => qb.whereNotExists(function () { this.select(1).from('surveys_legalhold')
 *   .whereRaw('?? = ??', ['surveys_legalhold.survey_id', 'surveys_survey.id']).whereNull('removed_at') })`.
 */
export type RootGuard = (qb: Knex.QueryBuilder) => void;

export interface DeleteResult {
  /** Root rows deleted. */
  roots: number;
  /** Rows deleted per table (the root table included), in deletion order. */
  deleted: Record<string, number>;
  /** Rows whose `table.column` was set to NULL. */
  nulled: Record<string, number>;
}

/** The guard stopped holding for a root between the first and the last statement: roll back. */
export class GuardChangedError extends Error {
  constructor(readonly expected: number, readonly deleted: number) {
    super(`the root rows changed during the deletion (${deleted} of ${expected} still matched the guard); the transaction must be rolled back`);
    this.name = 'GuardChangedError';
  }
}

export interface DeleteOptions {
  guard?: RootGuard;
}

/**
 * Delete the roots `ids` and every row that depends on them, inside the caller's transaction.
 *
 * 1. The roots are confirmed against the guard and locked (FOR UPDATE on PostgreSQL and MySQL:
 *    a concurrent insert of a child — a new legal hold — must lock the same row and waits for
 *    our commit). Only the confirmed ids go further; the others are left alone.
 * 2. Nullable cycle edges are set to NULL, then each table is deleted leaf-first, each statement
 *    selecting its rows through `fk IN (SELECT key FROM parent WHERE …)` down to
 *    `root.key IN (<confirmed ids>) AND <guard>`: the guard is part of every changing statement.
 * 3. The roots are deleted with the same guard. If fewer are deleted than were confirmed, the
 *    guard changed under us (a hold placed mid-way on SQLite, where nothing is locked) and
 *    GuardChangedError makes the caller roll back rather than keep a half-deleted survey.
 *
 * Values are bound, identifiers quoted by knex. On MySQL the parent selections are wrapped in a
 * DISTINCT derived table, as MySQL refuses a subquery on the table a statement changes.
 */
export async function deleteWithDependents(
  trx: Knex.Transaction,
  dialect: Dialect,
  plan: DeletePlan,
  ids: readonly (number | string)[],
  options: DeleteOptions = {},
): Promise<DeleteResult> {
  const result: DeleteResult = { roots: 0, deleted: {}, nulled: {} };
  if (ids.length === 0) return result;
  const { root, rootKey } = plan;
  const guard = options.guard;
  const lock = trx(root).select(rootKey).whereIn(rootKey, [...ids]);
  if (guard) lock.where(guard);
  const confirmed = (await (dialect === 'sqlite' ? lock : lock.forUpdate())).map((r: Record<string, unknown>) => r[rootKey] as number | string);
  if (confirmed.length === 0) return result;

  const viaOf = new Map(plan.deleteOrder.map((s) => [s.table, s.via]));
  // The rows of `table` being deleted, as a WHERE on a builder whose FROM is `table`.
  const selects = (table: string) => (qb: Knex.QueryBuilder) => {
    if (table === root) {
      qb.whereIn(rootKey, confirmed);
      if (guard) qb.where(guard);
      return;
    }
    for (const e of viaOf.get(table) ?? []) qb.orWhereIn(e.column, keysOf(e));
  };
  const keysOf = (e: PlanEdge): Knex.QueryBuilder => {
    if (dialect !== 'mysql') return trx(e.refTable).select(e.refColumn).where(selects(e.refTable));
    const inner = trx(e.refTable).distinct(e.refColumn).where(selects(e.refTable)).as('parent_keys');
    return trx.select(e.refColumn).from(inner);
  };

  for (const e of plan.setNull) {
    const n = await trx(e.table).whereIn(e.column, keysOf(e)).update({ [e.column]: null });
    result.nulled[`${e.table}.${e.column}`] = Number(n);
  }
  for (const step of plan.deleteOrder) {
    result.deleted[step.table] = Number(await trx(step.table).where(selects(step.table)).del());
  }
  const roots = Number(await trx(root).where(selects(root)).del());
  result.deleted[root] = roots;
  result.roots = roots;
  if (roots !== confirmed.length) throw new GuardChangedError(confirmed.length, roots);
  return result;
}
