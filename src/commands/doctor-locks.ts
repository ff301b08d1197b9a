/**
 * doctor's look at locking: which kind of lock runs will take here, and on PostgreSQL whether a
 * transaction pooler sits in between (advisory locks cannot work through one; lease rows can).
 */
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import { ExitCode } from '../errors.js';
import type { Finding } from './doctor.js';

export async function checkLocks(knex: Knex, config: Config, add: (f: Finding) => void): Promise<void> {
  const { dialect } = config.database;
  const advisory = config.lockMode === 'auto' && dialect !== 'sqlite';
  if (dialect !== 'postgres') {
    add({ check: 'locks', level: 'ok', message: advisory ? 'advisory locks (GET_LOCK)' : `lease rows in ${config.schema.own.jobLocks}` });
    return;
  }
  const { transactionPoolerSeen, poolerError } = await import('../db/lock-connection.js');
  const client = knex.client as { acquireConnection(): Promise<unknown>; releaseConnection(conn: unknown): Promise<void> };
  let seen: string | null;
  try {
    const conn = await client.acquireConnection();
    try {
      seen = await transactionPoolerSeen(knex, conn);
    } finally {
      await client.releaseConnection(conn);
    }
  } catch (err) {
    add({ check: 'locks', level: 'warn', message: `could not check for a pooler: ${(err as Error).message}` });
    return;
  }
  if (!seen) {
    add({ check: 'locks', level: 'ok', message: advisory ? 'advisory locks (pg_try_advisory_lock); no transaction pooler seen' : `lease rows in ${config.schema.own.jobLocks} (ONTIME_LOCK=table)` });
  } else if (advisory) {
    const err = poolerError(seen);
    add({ check: 'locks', level: 'fail', message: err.message, fix: err.hint, exitCode: ExitCode.config });
  } else {
    add({ check: 'locks', level: 'ok', message: `lease rows in ${config.schema.own.jobLocks} (ONTIME_LOCK=table), which work through the transaction pooler in front of PostgreSQL (${seen})` });
  }
}
