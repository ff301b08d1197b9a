/**
 * The largest --batch-size ontime accepts stays within every database's bound-parameter limit:
 * a full batch of due cases is released in one batch on SQLite (32766), PostgreSQL (65535) and
 * MariaDB; one more than the bound is refused with 64.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LIMITS } from '../../src/parse.js';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { insertMany } from '../helpers/fixtures.js';

forEachDatabase('--batch-size at its bound', (db) => {
  test(`a batch of ${LIMITS.batchSize} cases is released in one batch`, async () => {
    await db().reset();
    const rows = Array.from({ length: LIMITS.batchSize }, (_, i) => ({
      reference: `B-${i}`, title: 'bound', status: 10, scheduled_release_date: '2026-06-01',
    }));
    await insertMany(db().knex, 'cases', rows, 500);
    const args = ['release-scheduled-cases', '--now', '2026-06-10T12:00:00Z', '--json'];
    const refused = await runCli([...args, '--batch-size', String(LIMITS.batchSize + 1)], { DATABASE_URL: db().url });
    assert.equal(refused.code, 64);
    const r = await runCli([...args, '--batch-size', String(LIMITS.batchSize)], { DATABASE_URL: db().url });
    assert.equal(r.code, 0, r.stderr);
    const released = await db().knex('cases').whereNotNull('actual_release_date').count<{ n: number }[]>({ n: '*' });
    assert.equal(Number(released[0]!.n), LIMITS.batchSize);
  });
});
