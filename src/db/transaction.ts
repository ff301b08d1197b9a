/**
 * A transaction that never outlives its failure. On SQLite a COMMIT that fails (a foreign key
 * declared DEFERRABLE INITIALLY DEFERRED and violated at commit) leaves the transaction OPEN, and
 * knex does not roll it back: the one pooled connection then goes on inside it, later reads see
 * the failed batch's changes and later writes join it. So after any failure on SQLite we ask the
 * connection whether it is still in a transaction and roll it back. PostgreSQL and MySQL/MariaDB
 * end a transaction whose COMMIT failed themselves.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';

export async function transactionOf<T>(db: Knex, dialect: Dialect, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  try {
    return await db.transaction(fn);
  } catch (err) {
    if (dialect === 'sqlite') await rollBackLeftOpen(db);
    throw err;
  }
}

/** ROLLBACK the SQLite connection's transaction if one is still open; true when there was one. */
export async function rollBackLeftOpen(db: Knex): Promise<boolean> {
  // The SQLite pool has exactly one connection (connect.ts): the one the failed transaction used.
  const client = db.client as { acquireConnection(): Promise<{ inTransaction?: boolean }>; releaseConnection(conn: unknown): Promise<void> };
  const conn = await client.acquireConnection();
  try {
    if (!conn.inTransaction) return false;
    await db.raw('ROLLBACK').connection(conn);
    return true;
  } finally {
    await client.releaseConnection(conn);
  }
}
