/**
 * Fencing without a round trip of its own (docs/run-safety.md, "Fencing"): a lease is renewed by
 * the first statement of every batch transaction, so a lease taken over before the next batch
 * stops the run with that batch rolled back; an advisory lock is known lost from its connection.
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { JOB, deletedByRun, progressCount, runRows, seedProgress, sleep } from '../helpers/run-safety.js';
import { lockName } from '../../src/db/locks.js';

forEachDatabase('fencing', (db) => {
  beforeEach(async () => {
    await db().reset();
  });

  /** A run of the cleanup that does `action` just before its second batch. */
  const runInterferedAt2nd = (batchSize: string, env: Record<string, string>, action: () => Promise<unknown>) => {
    let checkpoints = 0;
    const beforeCheckpoint = async () => {
      if (++checkpoints === 2) await action();
    };
    return runCli([JOB, '--batch-size', batchSize], { DATABASE_URL: db().url, ...env }, { hooks: { beforeCheckpoint } });
  };

  test('a lease taken over before the next batch: that batch rolls back, the run stops with 75, the new holder is left alone', async () => {
    const { knex, dialect } = db();
    await seedProgress(knex, dialect, 5, 2);
    // Before the second batch, another run takes the lease over (as after an expiry).
    const r = await runInterferedAt2nd('1', { ONTIME_LOCK: 'table' }, () =>
      knex('job_locks').where({ name: lockName(JOB) }).update({ holder: 'thief pid 1 #000001', run_id: null }),
    );
    assert.equal(r.code, 75, r.stderr);
    assert.match(r.stderr, /lock of cleanup-survey-progress is no longer ours/);
    const [run] = await runRows(knex);
    assert.equal(run!.status, 'interrupted');
    assert.equal(run!.summary.stoppedBy, 'lock-lost');
    assert.equal(await deletedByRun(knex, run!.id), 1, 'only the batch before the takeover');
    assert.equal(await progressCount(knex), 6, 'the second batch was rolled back');
    const lease = await knex('job_locks').first();
    assert.equal(lease?.holder, 'thief pid 1 #000001', "the new holder's lease is neither renewed away nor released");
  });

  test('a lease released by an operator mid-run stops the run before its next batch', async () => {
    const { knex, dialect } = db();
    await seedProgress(knex, dialect, 4, 0);
    const r = await runInterferedAt2nd('2', { ONTIME_LOCK: 'table' }, () => knex('job_locks').del());
    assert.equal(r.code, 75, r.stderr);
    assert.equal(await progressCount(knex), 2);
  });

  test('the lease is renewed by the batches themselves: a run of many batches keeps it and releases it', async () => {
    const { knex, dialect } = db();
    await seedProgress(knex, dialect, 6, 1);
    const expiries: string[] = [];
    const r = await runCli([JOB, '--batch-size', '2'], { DATABASE_URL: db().url, ONTIME_LOCK: 'table' }, {
      hooks: {
        async beforeCheckpoint() {
          const row = await knex('job_locks').first();
          expiries.push(String(row?.expires_at instanceof Date ? row.expires_at.toISOString() : row?.expires_at));
          await sleep(20);
        },
      },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await progressCount(knex), 1);
    assert.ok(new Set(expiries).size > 1, `the expiry moved with the batches: ${expiries.join(', ')}`);
    assert.equal(Number((await knex('job_locks').count({ n: '*' }).first())?.n), 0);
  });

  test('an advisory lock whose connection is ended stops the run before its next batch (PostgreSQL, MariaDB)', async () => {
    const { knex, dialect } = db();
    if (dialect === 'sqlite') return; // no advisory locks
    await seedProgress(knex, dialect, 5, 0);
    const r = await runInterferedAt2nd('1', {}, async () => {
      if (dialect === 'postgres') {
        await knex.raw("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'ontime %' AND datname = current_database() AND pid <> pg_backend_pid()");
      } else {
        const [rows] = (await knex.raw('SELECT IS_USED_LOCK(?) AS id', [lockName(`${knex.client.config.connection.database}:${JOB}`)])) as [Array<{ id: number }>];
        await knex.raw(`KILL ${Number(rows[0]!.id)}`);
      }
      // The server's message reaches the lock connection: its error/end events mark the lock lost.
      await sleep(200);
    });
    assert.equal(r.code, 75, r.stderr);
    assert.match(r.stderr, /connection holding the lock of cleanup-survey-progress was lost/);
    const [run] = await runRows(knex);
    assert.equal(await deletedByRun(knex, run!.id), 1);
    assert.equal(await progressCount(knex), 4);
  });
});
