/**
 * The plan of every batch statement of the batch jobs that page by id, on every database: none may
 * read the whole big table (PostgreSQL `Seq Scan`, or a `Bitmap Heap Scan` of every due row as the
 * `id IN (SELECT … LIMIT n)` form gets; MariaDB `type: ALL`; SQLite `SCAN <table>` without an
 * index), because a full scan per batch makes a run quadratic in the table size. The statements
 * are the ones the db functions really send (captured from knex, inside a transaction that is
 * rolled back), explained against a seeded table with fresh statistics. Not timed.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { Knex } from 'knex';
import { analyze, type BenchDatabase } from '../../scripts/bench/database.js';
import { seedCases, seedSurveys } from '../../scripts/bench/seed.js';
import { releaseCases, selectDueForRelease, takeReleaseBatch, type ReleaseWindow } from '../../src/db/cases.js';
import { moveCaseStatus, selectCasesAtStatus, takeStatusMoveBatch, type StatusMove } from '../../src/db/case-status.js';
import { deleteExpiredProgressBatch, deleteExpiredProgressCounted, deleteExpiredProgressRange, selectExpiredProgress } from '../../src/db/progress.js';
import { utcDay } from '../../src/db/time.js';
import { forEachDatabase, type TestDatabase } from '../helpers/databases.js';

const NOW = new Date('2026-11-20T03:00:00Z');
const STALE = new Date(NOW.getTime() - 30 * 86_400_000);
const AFTER = 5_000;
const SIZE = 1_000;

interface Captured {
  sql: string;
  bindings: readonly unknown[];
}

/** Run `body` in a transaction that is rolled back, and return the statements it sent. */
async function statementsOf(knex: Knex, body: (trx: Knex.Transaction) => Promise<unknown>): Promise<Captured[]> {
  const seen: Captured[] = [];
  const listen = (q: { sql: string; bindings?: unknown[] }) => {
    if (!/^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)/i.test(q.sql)) seen.push({ sql: q.sql, bindings: q.bindings ?? [] });
  };
  knex.on('query', listen);
  try {
    await knex
      .transaction(async (trx) => {
        await body(trx);
        throw new Error('rollback');
      })
      .catch((err: Error) => {
        if (err.message !== 'rollback') throw err;
      });
  } finally {
    knex.off('query', listen);
  }
  return seen;
}

/** Full scans of `table` in a statement's plan, in the database's own words ([] when none). */
async function fullScans(db: TestDatabase, table: string, s: Captured): Promise<string[]> {
  const { knex, dialect } = db;
  if (dialect === 'postgres') {
    // knex reports PostgreSQL statements with $n placeholders, numbered in binding order.
    const result = await knex.raw(`EXPLAIN (FORMAT JSON) ${s.sql.replace(/\$\d+/g, '?')}`, s.bindings as Knex.RawBinding[]);
    const found: string[] = [];
    const walk = (node: Record<string, any>) => {
      if (node['Relation Name'] === table && (node['Node Type'] === 'Seq Scan' || node['Node Type'] === 'Bitmap Heap Scan')) found.push(`${node['Node Type']} on ${table}`);
      for (const child of node.Plans ?? []) walk(child);
    };
    walk(result.rows[0]['QUERY PLAN'][0].Plan);
    return found;
  }
  if (dialect === 'mysql') {
    // EXPLAIN does not take MariaDB's RETURNING clause; the plan is the statement's without it.
    const sql = s.sql.replace(/\s+RETURNING\s[\s\S]*$/i, '');
    const [rows] = await knex.raw(`EXPLAIN ${sql}`, s.bindings as Knex.RawBinding[]);
    return (rows as Array<{ table: string; type: string }>).filter((r) => r.table === table && r.type === 'ALL').map((r) => `type ALL on ${r.table}`);
  }
  const rows: Array<{ detail: string }> = await knex.raw(`EXPLAIN QUERY PLAN ${s.sql}`, s.bindings as Knex.RawBinding[]);
  return rows.map((r) => r.detail).filter((d) => new RegExp(`^SCAN ${table}\\b`).test(d) && !/USING/.test(d));
}

async function assertNoFullScan(db: TestDatabase, table: string, what: string, statements: Captured[]): Promise<void> {
  const touching = statements.filter((s) => new RegExp(`\\b${table}\\b`).test(s.sql.replace(/["`]/g, '')));
  assert.ok(touching.length > 0, `${what}: sent no statement on ${table}`);
  for (const s of touching) {
    const scans = await fullScans(db, table, s);
    assert.deepEqual(scans, [], `${what} on ${db.dialect} reads all of ${table}:\n${s.sql}`);
  }
}

forEachDatabase('batch statement plans', (db) => {
  before(async () => {
    const bench: BenchDatabase = { name: db().name, dialect: db().dialect, url: db().url, knex: db().knex, version: '' };
    // Big enough that every planner prefers an index where one serves.
    await seedCases(bench, NOW, 20_000);
    await seedSurveys(bench, NOW, { surveys: 2_000, responses: 2_000, progress: 20_000 });
    await analyze(bench, ['cases', 'surveys', 'survey_responses', 'survey_progress']);
  });

  const isMariaDb = async () => db().dialect === 'mysql' && /mariadb/i.test(String((await db().knex.raw('SELECT VERSION() AS v'))[0][0].v));

  test('the check sees a full scan: an unindexed predicate and the `id IN (SELECT … LIMIT n)` form', async () => {
    const unindexed = { sql: 'SELECT id FROM cases WHERE title = ?', bindings: ['x'] };
    assert.notDeepEqual(await fullScans(db(), 'cases', unindexed), []);
    if (db().dialect === 'postgres') {
      const inLimit = {
        sql: 'SELECT id FROM cases WHERE id IN (SELECT id FROM cases WHERE status = ? AND id > ? ORDER BY id LIMIT ?) AND status = ?',
        bindings: [10, AFTER, SIZE, 10],
      };
      assert.notDeepEqual(await fullScans(db(), 'cases', inLimit), [], 'the hash semi-join over every due row');
    }
  });

  test('cleanup-survey-progress: the keyset select and the one-statement delete use the primary key', async () => {
    const { knex, dialect } = db();
    await assertNoFullScan(db(), 'survey_progress', 'select', await statementsOf(knex, (trx) => selectExpiredProgress(trx, dialect, NOW, STALE, AFTER, SIZE)));
    if (dialect !== 'mysql') {
      await assertNoFullScan(db(), 'survey_progress', 'range delete', await statementsOf(knex, (trx) => deleteExpiredProgressRange(trx, dialect, NOW, STALE, AFTER, SIZE)));
    }
    if (dialect === 'postgres') {
      const counted = await statementsOf(knex, (trx) => deleteExpiredProgressCounted(trx, dialect, NOW, STALE, AFTER, SIZE, ['user', 'session', 'token']));
      await assertNoFullScan(db(), 'survey_progress', 'counted range delete', counted);
    } else if (dialect === 'mysql' && (await isMariaDb())) {
      await assertNoFullScan(db(), 'survey_progress', 'ORDER BY id LIMIT n delete', await statementsOf(knex, (trx) => deleteExpiredProgressBatch(trx, dialect, NOW, STALE, AFTER, SIZE)));
    }
  });

  test('release-scheduled-cases: select and release use the primary key', async () => {
    const { knex, dialect } = db();
    const w: ReleaseWindow = { dialect, today: utcDay(NOW), onlyOverdue: false };
    await assertNoFullScan(db(), 'cases', 'select', await statementsOf(knex, (trx) => selectDueForRelease(trx, w, AFTER, SIZE)));
    if (dialect === 'mysql') {
      const ids = (await selectDueForRelease(knex, w, AFTER, SIZE)).map((r) => Number(r.id));
      await assertNoFullScan(db(), 'cases', 'release by ids', await statementsOf(knex, (trx) => releaseCases(trx, w, ids, NOW)));
    } else {
      await assertNoFullScan(db(), 'cases', 'one-statement release', await statementsOf(knex, (trx) => takeReleaseBatch(trx, w, { actor: 'job:test', runId: null }, NOW, AFTER, SIZE)));
    }
  });

  test('weekly status moves: select and move use an index range', async () => {
    const { knex, dialect } = db();
    const move: StatusMove = { dialect, from: 10, to: 15, now: NOW, source: 'job:test', runId: null };
    await assertNoFullScan(db(), 'cases', 'select', await statementsOf(knex, (trx) => selectCasesAtStatus(trx, 10, undefined, AFTER, SIZE)));
    const ids = (await selectCasesAtStatus(knex, 10, undefined, AFTER, SIZE)).map((r) => Number(r.key));
    await assertNoFullScan(db(), 'cases', 'move by ids', await statementsOf(knex, (trx) => moveCaseStatus(trx, move, ids)));
    if (dialect !== 'mysql') {
      await assertNoFullScan(db(), 'cases', 'one-statement move', await statementsOf(knex, (trx) => takeStatusMoveBatch(trx, move, 'case.status_changed', AFTER, SIZE)));
    }
  });
});
