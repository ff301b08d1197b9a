/**
 * The shard predicate, one helper for every selection statement of a sharded run (--shard i/n):
 * only rows with `id % n = i`. n and i are our own validated integers (parse.ts), written into
 * the SQL as numbers so every dialect compares integers with integers. Combined with the keyset
 * `id > ? ORDER BY id`, the primary-key range scan stays; the predicate filters within it.
 */
import type { Knex } from 'knex';
import type { Shard } from '../parse.js';

/** Restrict `q` to the shard's rows (no shard: `q` unchanged). Usable as `q.modify(whereShard, shard, 's.id')`. */
export function whereShard<Q extends Knex.QueryBuilder>(q: Q, shard: Shard | undefined, idColumn = 'id'): Q {
  if (!shard) return q;
  return q.whereRaw(`?? % ${Math.trunc(shard.count)} = ${Math.trunc(shard.index)}`, [idColumn]) as Q;
}

/** The same predicate for statements written as SQL text: ` AND <idColumn> % n = i`, or '' without a shard. */
export function shardSql(shard: Shard | undefined, idColumn = 'id'): string {
  return shard ? ` AND ${idColumn} % ${Math.trunc(shard.count)} = ${Math.trunc(shard.index)}` : '';
}
