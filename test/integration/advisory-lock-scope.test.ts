/**
 * MySQL/MariaDB GET_LOCK names are server-wide: the lock of a job must name the database, so two
 * deployments whose databases share one server never block each other.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serverLockName } from '../../src/db/locks.js';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';

const JOB = 'cleanup-survey-progress';

forEachDatabase('advisory lock scope', (db) => {
  test('the lock of another database on the same server does not block this one; our own does', async (t) => {
    if (db().dialect !== 'mysql') {
      t.skip('GET_LOCK names are server-wide only on MySQL/MariaDB');
      return;
    }
    const { knex } = db();
    const database = (knex.client.config.connection as { database: string }).database;
    assert.notEqual(serverLockName(knex, JOB), serverLockName({ client: { config: { connection: { database: 'other' } } } } as never, JOB));
    const conn = await knex.client.acquireConnection();
    try {
      const other = `ontime:${database}-elsewhere:${JOB}`.slice(0, 64);
      await knex.raw('SELECT GET_LOCK(?, 0)', [other]).connection(conn);
      const free = await runCli([JOB, '--json'], { DATABASE_URL: db().url });
      assert.equal(free.code, 0, free.stderr);
      assert.equal(JSON.parse(free.stdout).status, 'succeeded');

      await knex.raw('SELECT GET_LOCK(?, 0)', [serverLockName(knex, JOB)]).connection(conn);
      const held = await runCli([JOB, '--json'], { DATABASE_URL: db().url });
      assert.equal(held.code, 0, held.stderr);
      assert.equal(JSON.parse(held.stdout).status, 'skipped');
    } finally {
      await knex.raw('SELECT RELEASE_ALL_LOCKS()').connection(conn);
      await knex.client.releaseConnection(conn);
    }
  });
});
