/**
 * Advisory locks behind a transaction pooler: a real PgBouncer started by the test on a free port
 * (transaction and session pooling), in front of this file's PostgreSQL database. In transaction
 * pooling a run refuses advisory mode with 78 naming ONTIME_LOCK=table, and doctor says so; in
 * session pooling and directly, advisory mode works. PostgreSQL only.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase, isCI, RUN_TABLES } from '../helpers/databases.js';
import { startPgBouncer, type PgBouncer } from '../helpers/pgbouncer.js';
import { JOB, progressCount, runRows, seedProgress } from '../helpers/run-safety.js';
import { transactionPoolerSeen } from '../../src/db/lock-connection.js';

forEachDatabase('transaction pooler in front of PostgreSQL', (db) => {
  let bouncer: PgBouncer | null = null;
  let missing = '';
  before(async () => {
    if (db().name !== 'postgres') return;
    bouncer = await startPgBouncer(db().url);
    if (!bouncer) {
      missing = 'pgbouncer is not installed (apt-get install pgbouncer)';
      if (isCI) throw new Error(missing);
    }
  });
  after(async () => bouncer?.stop());

  const doctorLocks = async (env: Record<string, string>) => {
    const r = await runCli(['doctor', '--json'], { ...env, EMAIL_BACKEND: 'console' });
    return { code: r.code, locks: JSON.parse(r.stdout).findings.find((f: { check: string }) => f.check === 'locks') };
  };

  test('directly connected: two real sessions are told apart, no pooler is seen, advisory runs work', async () => {
    if (db().name !== 'postgres') return;
    const client = db().knex.client as { acquireConnection(): Promise<unknown>; releaseConnection(c: unknown): Promise<void> };
    const conn = await client.acquireConnection();
    try {
      assert.equal(await transactionPoolerSeen(db().knex, conn), null);
    } finally {
      await client.releaseConnection(conn);
    }
    const d = await doctorLocks({ DATABASE_URL: db().url });
    assert.equal(d.locks.level, 'ok');
    assert.match(d.locks.message, /no transaction pooler seen/);
  });

  test('PgBouncer in transaction pooling: advisory mode refused with 78 naming ONTIME_LOCK=table; table mode works', async (t) => {
    if (db().name !== 'postgres') return;
    if (!bouncer) return t.skip(missing);
    await db().reset();
    await seedProgress(db().knex, db().dialect, 9, 2);
    const before = await db().checksum({ except: RUN_TABLES });
    const url = bouncer.url('transaction');

    const refused = await runCli([JOB], { DATABASE_URL: url });
    assert.equal(refused.code, 78, refused.stderr);
    assert.match(refused.stderr, /PostgreSQL is reached through a transaction pooler/);
    assert.match(refused.stderr, /ONTIME_LOCK=table/);
    assert.equal(await db().checksum({ except: RUN_TABLES }), before, 'nothing changed');

    const d = await doctorLocks({ DATABASE_URL: url });
    assert.equal(d.code, 78);
    assert.equal(d.locks.level, 'fail');
    assert.match(d.locks.fix, /ONTIME_LOCK=table/);

    const leased = await runCli([JOB, '--batch-size', '2'], { DATABASE_URL: url, ONTIME_LOCK: 'table' });
    assert.equal(leased.code, 0, leased.stderr);
    assert.equal(await progressCount(db().knex), 2);
    assert.equal((await runRows(db().knex)).at(-1)!.status, 'succeeded');
    const dt = await doctorLocks({ DATABASE_URL: url, ONTIME_LOCK: 'table' });
    assert.equal(dt.locks.level, 'ok');
    assert.match(dt.locks.message, /work through the transaction pooler/);
  });

  test('PgBouncer in session pooling: advisory locks work, no pooler complaint', async (t) => {
    if (db().name !== 'postgres') return;
    if (!bouncer) return t.skip(missing);
    await db().reset();
    await seedProgress(db().knex, db().dialect, 5, 1);
    const r = await runCli([JOB, '--batch-size', '2'], { DATABASE_URL: bouncer.url('session') });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await progressCount(db().knex), 1);
  });
});
