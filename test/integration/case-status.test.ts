/**
 * bulk-update-case-status and the two weekly jobs on every database: exactly the right rows
 * move, with history and audit rows; stale selections are left alone; backward moves need --force.
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import type { Knex } from 'knex';
import { fromDbInstant } from '../../src/db/time.js';
import { applyStatusMoveBatch } from '../../src/jobs/shared/case-status-move.js';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase, type TestDatabase } from '../helpers/databases.js';
import { insertMany } from '../helpers/fixtures.js';

const NOW = '2026-06-08T08:00:00Z';

/** Insert cases with the given statuses; returns their ids in the same order. */
async function insertStatuses(knex: Knex, statuses: number[], prefix = 'S'): Promise<number[]> {
  await insertMany(
    knex,
    'cases',
    statuses.map((status, i) => ({ reference: `${prefix}-${String(i).padStart(3, '0')}`, title: 'Case', status })),
  );
  return (await knex('cases').where('reference', 'like', `${prefix}-%`).orderBy('reference').pluck('id')).map(Number);
}

async function statusById(knex: Knex): Promise<Record<number, number>> {
  const rows = await knex('cases').select('id', 'status');
  return Object.fromEntries(rows.map((r) => [Number(r.id), Number(r.status)]));
}

async function run(db: TestDatabase, args: string[]) {
  const result = await runCli([...args, '--json', '--now', NOW], { DATABASE_URL: db.url });
  let json: any = null;
  try {
    json = JSON.parse(result.stdout);
  } catch {
    // left null; assertions print stdout/stderr
  }
  return { ...result, json };
}

async function history(knex: Knex) {
  return (await knex('case_status_history').orderBy('case_id')).map((h) => ({
    case_id: Number(h.case_id),
    from: Number(h.from_status),
    to: Number(h.to_status),
    source: h.source,
    at: fromDbInstant(h.changed_at)?.toISOString(),
  }));
}

async function auditSubjects(knex: Knex, action = 'case.status_changed'): Promise<number[]> {
  return (await knex('audit_log').where({ action }).orderBy('id').pluck('subject_id')).map(Number).sort((a, b) => a - b);
}

forEachDatabase('case status jobs', (db) => {
  beforeEach(async () => {
    await db().reset();
  });

  test('weekly-pending-payment-update moves exactly the 10s to 15, with history and audit rows', async () => {
    const { knex } = db();
    const ids = await insertStatuses(knex, [10, 15, 10, 20, 12, 10]);
    const r = await run(db(), ['weekly-pending-payment-update']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.summary.moved, 3);
    assert.equal(r.json.summary.leftAlone, 0);
    const s = await statusById(knex);
    assert.deepEqual(ids.map((id) => s[id]), [15, 15, 15, 20, 12, 15]);
    const moved = [ids[0]!, ids[2]!, ids[5]!];
    assert.deepEqual(
      await history(knex),
      moved.map((case_id) => ({ case_id, from: 10, to: 15, source: 'job:weekly-pending-payment-update', at: '2026-06-08T08:00:00.000Z' })),
    );
    assert.deepEqual(await auditSubjects(knex), moved);
    const audit = await knex('audit_log').first();
    assert.equal(audit.actor, 'job:weekly-pending-payment-update');
    assert.deepEqual(JSON.parse(audit.details), { from: 10, to: 15 });
  });

  test('weekly-paid-update moves exactly the 15s to 20', async () => {
    const { knex } = db();
    const ids = await insertStatuses(knex, [15, 10, 15, 20]);
    const r = await run(db(), ['weekly-paid-update']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.summary.moved, 2);
    const s = await statusById(knex);
    assert.deepEqual(ids.map((id) => s[id]), [20, 10, 20, 20]);
    assert.deepEqual(
      (await history(knex)).map((h) => [h.case_id, h.from, h.to, h.source]),
      [
        [ids[0], 15, 20, 'job:weekly-paid-update'],
        [ids[2], 15, 20, 'job:weekly-paid-update'],
      ],
    );
    assert.deepEqual(await auditSubjects(knex), [ids[0], ids[2]]);
    // A second run finds nothing left.
    const again = await run(db(), ['weekly-paid-update']);
    assert.equal(again.json.summary.moved, 0);
    assert.equal((await history(knex)).length, 2);
  });

  test('human output: start line, counts section, completion line, --verbose per case', async () => {
    await insertStatuses(db().knex, [10, 10]);
    const r = await runCli(['weekly-pending-payment-update', '--verbose', '--now', NOW], { DATABASE_URL: db().url });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Starting case status update from 10 to 15 at 2026-06-08 08:00:00 UTC\n/);
    assert.match(r.stdout, /\(S-000\): moved 10 → 15/);
    assert.match(r.stdout, /\(S-001\): moved 10 → 15/);
    assert.match(r.stdout, /--- Status 10 → 15 ---\nMoved: 2 cases\nLeft alone \(status changed meanwhile\): 0 cases\n/);
    assert.match(r.stdout, /Case status update completed at /);
  });

  test('a case whose status changed between selection and update is left alone, without history or audit', async () => {
    const { knex, dialect } = db();
    const ids = await insertStatuses(knex, [10, 10, 10]);
    // The selection saw three cases at 10; another program moves the middle one before the update.
    await knex('cases').where('id', ids[1]).update({ status: 30 });
    const moved = await knex.transaction((trx) =>
      applyStatusMoveBatch(trx, { dialect, now: new Date(NOW), actor: 'job:bulk-update-case-status', runId: null }, { from: 10, to: 15 }, ids),
    );
    assert.deepEqual(moved, [ids[0], ids[2]]);
    const s = await statusById(knex);
    assert.deepEqual(ids.map((id) => s[id]), [15, 30, 15]);
    assert.deepEqual((await history(knex)).map((h) => h.case_id), [ids[0], ids[2]]);
    assert.deepEqual(await auditSubjects(knex), [ids[0], ids[2]]);
  });

  test('--from 20 --to 15 is refused with 64 naming --force; with --force it moves', async () => {
    const { knex } = db();
    const ids = await insertStatuses(knex, [20, 15]);
    const before = await db().checksum();
    const refused = await runCli(['bulk-update-case-status', '--from', '20', '--to', '15', '--now', NOW], { DATABASE_URL: db().url });
    assert.equal(refused.code, 64);
    assert.match(refused.stderr, /--force/);
    assert.equal(await db().checksum(), before);

    const forced = await run(db(), ['bulk-update-case-status', '--from', '20', '--to', '15', '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(forced.json.summary.moved, 1);
    assert.equal(forced.json.summary.forced, true);
    const s = await statusById(knex);
    assert.deepEqual(ids.map((id) => s[id]), [15, 15]);
    assert.deepEqual((await history(knex)).map((h) => [h.from, h.to, h.source]), [[20, 15, 'job:bulk-update-case-status']]);
  });

  test('missing --from or --to, or equal statuses, are usage errors (64) that change nothing', async () => {
    await insertStatuses(db().knex, [10]);
    const before = await db().checksum();
    for (const args of [['--to', '15'], ['--from', '10'], [], ['--from', '10', '--to', '10'], ['--from', 'ten', '--to', '15']]) {
      const r = await runCli(['bulk-update-case-status', ...args, '--now', NOW], { DATABASE_URL: db().url });
      assert.equal(r.code, 64, `${args.join(' ')}: ${r.stderr}`);
    }
    const missing = await runCli(['bulk-update-case-status', '--from', '10', '--now', NOW], { DATABASE_URL: db().url });
    assert.match(missing.stderr, /--to is required/);
    assert.equal(await db().checksum(), before);
  });

  test('--ids moves only those cases and counts the ones not at --from', async () => {
    const { knex } = db();
    const ids = await insertStatuses(knex, [10, 10, 10, 20]);
    const r = await run(db(), ['bulk-update-case-status', '--from', '10', '--to', '15', '--ids', `${ids[0]},${ids[2]},${ids[3]},999999`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.summary.moved, 2);
    assert.equal(r.json.summary.notMatching, 2);
    const s = await statusById(knex);
    assert.deepEqual(ids.map((id) => s[id]), [15, 10, 15, 20]);
  });

  test('a dry run reports and changes nothing', async () => {
    await insertStatuses(db().knex, [10, 10, 15]);
    const before = await db().checksum();
    const r = await runCli(['weekly-pending-payment-update', '--dry-run', '--now', NOW], { DATABASE_URL: db().url });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Would move: 2 cases/);
    assert.equal(await db().checksum(), before);
  });

  test('batches smaller than the data, and --limit', async () => {
    const { knex } = db();
    await insertStatuses(knex, Array.from({ length: 50 }, () => 10));
    const limited = await run(db(), ['weekly-pending-payment-update', '--batch-size', '7', '--limit', '20']);
    assert.equal(limited.code, 0, limited.stderr);
    assert.equal(limited.json.summary.moved, 20);
    assert.equal(limited.json.summary.limited, true);
    const rest = await run(db(), ['weekly-pending-payment-update', '--batch-size', '7']);
    assert.equal(rest.json.summary.moved, 30);
    assert.equal(rest.json.summary.batches, 5);
    assert.equal(await knex('cases').where({ status: 15 }).count({ n: '*' }).first().then((r: any) => Number(r.n)), 50);
    assert.equal((await history(knex)).length, 50);
    assert.equal((await auditSubjects(knex)).length, 50);
  });

  for (const [alias, statuses, expected] of [
    ['weekly_pending_payment_update', [10, 15], [15, 15]],
    ['weekly_paid_update', [10, 15], [10, 20]],
  ] as const) {
    test(`the alias ${alias} runs the same job`, async () => {
      const { knex } = db();
      const ids = await insertStatuses(knex, [...statuses]);
      const r = await run(db(), [alias]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.json.job, alias.replaceAll('_', '-'));
      const s = await statusById(knex);
      assert.deepEqual(ids.map((id) => s[id]), [...expected]);
      assert.equal((await history(knex))[0]!.source, `job:${alias.replaceAll('_', '-')}`);
    });
  }

  test('the alias bulk_update_case_status runs the same job, and refuses backward moves the same way', async () => {
    const { knex } = db();
    const ids = await insertStatuses(knex, [10, 20]);
    const r = await run(db(), ['bulk_update_case_status', '--from', '10', '--to', '15']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.job, 'bulk-update-case-status');
    const s = await statusById(knex);
    assert.deepEqual(ids.map((id) => s[id]), [15, 20]);
    const refused = await runCli(['bulk_update_case_status', '--from', '20', '--to', '10', '--now', NOW], { DATABASE_URL: db().url });
    assert.equal(refused.code, 64);
  });
});
