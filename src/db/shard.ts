/**
 * The shard predicate, one helper for every selection statement of a sharded run (--shard i/n):
 * only rows with `id % n = i`. n and i are our own validated integers (parse.ts), written into
 * the SQL as numbers so every dialect compares integers with integers.
 *
 * Written as `CASE WHEN id % n = i THEN TRUE ELSE FALSE END`, not `id % n = i`: PostgreSQL has no
 * statistics for the expression and estimates `expr = const` at 0.5 % of the rows, so with the
 * bare form it planned every keyset page (`… AND id > ? ORDER BY id LIMIT n`) as a bitmap scan of
 * every due row plus a sort (measured at scale 0.4: minutes instead of seconds). A boolean CASE is
 * estimated at one half, so the primary-key range scan of the unsharded statement stays and the
 * predicate filters within it (EXPLAIN in docs/performance.md, "Shards").
 */
import type { Knex } from 'knex';
import type { Shard } from '../parse.js';

/** Restrict `q` to the shard's rows (no shard: `q` unchanged). Usable as `q.modify(whereShard, shard, 's.id')`. */
export function whereShard<Q extends Knex.QueryBuilder>(q: Q, shard: Shard | undefined, idColumn = 'id'): Q {
  if (!shard) return q;
  return q.whereRaw(`CASE WHEN ?? % ${Math.trunc(shard.count)} = ${Math.trunc(shard.index)} THEN TRUE ELSE FALSE END`, [idColumn]) as Q;
}

/** The same predicate for statements written as SQL text (` AND CASE WHEN <idColumn> % n = i …`), or '' without a shard. */
export function shardSql(shard: Shard | undefined, idColumn = 'id'): string {
  return shard ? ` AND CASE WHEN ${idColumn} % ${Math.trunc(shard.count)} = ${Math.trunc(shard.index)} THEN TRUE ELSE FALSE END` : '';
}
