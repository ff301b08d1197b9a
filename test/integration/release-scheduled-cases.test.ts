/** release-scheduled-cases on every database: the due rule, holds, batch time, settings, batches. */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import type { Knex } from 'knex';
import { releaseCases } from '../../src/db/cases.js';
import { fromDbInstant, toDbInstant } from '../../src/db/time.js';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase, RUN_TABLES, type TestDatabase } from '../helpers/databases.js';
import { insertMany } from '../helpers/fixtures.js';

interface CaseValues {
  reference: string;
  scheduled_release_date?: string | null;
  hold_start_date?: string | null;
  hold_end_date?: string | null;
  hold_duration_days?: number | null;
}

function caseRow(v: CaseValues) {
  return {
    reference: v.reference,
    title: `Case ${v.reference}`,
    status: 10,
    scheduled_release_date: v.scheduled_release_date ?? null,
    hold_start_date: v.hold_start_date ?? null,
    hold_end_date: v.hold_end_date ?? null,
    hold_duration_days: v.hold_duration_days ?? null,
  };
}

async function insertCases(knex: Knex, rows: CaseValues[]): Promise<void> {
  await insertMany(knex, 'cases', rows.map(caseRow));
}

async function setSettings(knex: Knex, values: Record<string, string>): Promise<void> {
  for (const [key, value] of Object.entries(values)) await knex('system_settings').insert({ key, value });
}

async function releasedRefs(knex: Knex): Promise<string[]> {
  const rows = await knex('cases').whereNotNull('actual_release_date').orderBy('reference').pluck('reference');
  return rows as string[];
}

async function run(db: TestDatabase, ...args: string[]) {
  const result = await runCli(['release-scheduled-cases', '--json', ...args], { DATABASE_URL: db.url });
  let json: any = null;
  try {
    json = JSON.parse(result.stdout);
  } catch {
    // left null: the assertion on json below will show stdout and stderr
  }
  return { ...result, json };
}

forEachDatabase('release-scheduled-cases', (db) => {
  beforeEach(async () => {
    await db().reset();
  });

  test('a case scheduled for a day is not due at 23:59:59 the day before, and due at 00:00:00', async () => {
    await insertCases(db().knex, [{ reference: 'R-1', scheduled_release_date: '2026-06-10' }]);
    const before = await run(db(), '--now', '2026-06-09T23:59:59Z');
    assert.equal(before.code, 0, before.stderr);
    assert.equal(before.json.summary.released, 0);
    assert.deepEqual(await releasedRefs(db().knex), []);

    const at = await run(db(), '--now', '2026-06-10T00:00:00Z');
    assert.equal(at.code, 0, at.stderr);
    assert.equal(at.json.summary.released, 1);
    const row = await db().knex('cases').first('actual_release_date', 'updated_at');
    assert.equal(fromDbInstant(row.actual_release_date)?.toISOString(), '2026-06-10T00:00:00.000Z');
    assert.equal(fromDbInstant(row.updated_at)?.toISOString(), '2026-06-10T00:00:00.000Z');
  });

  test('every hold form: end date exclusive, start + duration, open-ended, future start', async () => {
    await insertCases(db().knex, [
      { reference: 'end-today', scheduled_release_date: '2026-06-01', hold_start_date: '2026-06-01', hold_end_date: '2026-06-10' },
      { reference: 'end-tomorrow', scheduled_release_date: '2026-06-01', hold_start_date: '2026-06-01', hold_end_date: '2026-06-11' },
      { reference: 'duration-ends-today', scheduled_release_date: '2026-06-01', hold_start_date: '2026-06-05', hold_duration_days: 5 },
      { reference: 'duration-ends-tomorrow', scheduled_release_date: '2026-06-01', hold_start_date: '2026-06-05', hold_duration_days: 6 },
      // Across a month end, so a dialect doing day arithmetic as text would be caught.
      { reference: 'duration-month-end', scheduled_release_date: '2026-06-01', hold_start_date: '2026-05-25', hold_duration_days: 17 },
      { reference: 'open-ended', scheduled_release_date: '2026-06-01', hold_start_date: '2026-01-01' },
      { reference: 'starts-today', scheduled_release_date: '2026-06-01', hold_start_date: '2026-06-10', hold_end_date: '2026-06-12' },
      { reference: 'starts-tomorrow', scheduled_release_date: '2026-06-01', hold_start_date: '2026-06-11' },
      { reference: 'end-wins-over-duration', scheduled_release_date: '2026-06-01', hold_start_date: '2026-06-01', hold_end_date: '2026-06-10', hold_duration_days: 30 },
      { reference: 'no-hold', scheduled_release_date: '2026-06-10' },
    ]);
    const r = await run(db(), '--now', '2026-06-10T12:00:00Z');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await releasedRefs(db().knex), ['duration-ends-today', 'end-today', 'end-wins-over-duration', 'no-hold', 'starts-tomorrow']);
    assert.equal(r.json.summary.released, 5);
    // 'duration-month-end' ends 2026-06-11: still held on the 10th.
    assert.equal(r.json.summary.heldBack, 5);
    assert.equal(r.json.summary.waitingForBatchTime, 0);
  });

  test('--verbose names each case and why', async () => {
    await insertCases(db().knex, [
      { reference: 'go', scheduled_release_date: '2026-06-09' },
      { reference: 'held', scheduled_release_date: '2026-06-09', hold_start_date: '2026-06-01', hold_duration_days: 30 },
    ]);
    const r = await runCli(['release_scheduled_cases', '--verbose', '--now', '2026-06-10T12:00:00Z'], { DATABASE_URL: db().url });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Starting scheduled case release at 2026-06-10 12:00:00 UTC/);
    assert.match(r.stdout, /\(go\): released \(scheduled 2026-06-09, overdue\)/);
    assert.match(r.stdout, /\(held\): held back, on hold from 2026-06-01, the hold is over on 2026-07-01/);
    assert.match(r.stdout, /Released: 1 case\n/);
    assert.match(r.stdout, /Held back \(on hold today\): 1 case\n/);
    assert.match(r.stdout, /Scheduled case release completed at /);
  });

  test('batch release: due-today cases wait for the batch time, overdue ones do not', async () => {
    await setSettings(db().knex, { batch_release_enabled: 'true', batch_release_time: '08:00' });
    await insertCases(db().knex, [
      { reference: 'today', scheduled_release_date: '2026-06-10' },
      { reference: 'overdue', scheduled_release_date: '2026-06-09' },
      { reference: 'today-held', scheduled_release_date: '2026-06-10', hold_start_date: '2026-06-10' },
    ]);
    const early = await run(db(), '--now', '2026-06-10T07:59:59Z');
    assert.equal(early.code, 0, early.stderr);
    assert.deepEqual(await releasedRefs(db().knex), ['overdue']);
    assert.equal(early.json.summary.released, 1);
    assert.equal(early.json.summary.waitingForBatchTime, 1);
    assert.equal(early.json.summary.heldBack, 1);
    assert.equal(early.json.summary.batchTimeReached, false);

    const onTime = await run(db(), '--now', '2026-06-10T08:00:00Z');
    assert.equal(onTime.code, 0, onTime.stderr);
    assert.deepEqual(await releasedRefs(db().knex), ['overdue', 'today']);
    assert.equal(onTime.json.summary.released, 1);
    assert.equal(onTime.json.summary.waitingForBatchTime, 0);
    assert.equal(onTime.json.summary.batchTimeReached, true);
  });

  test('batch release disabled: batch_release_time is ignored', async () => {
    await setSettings(db().knex, { batch_release_enabled: 'false', batch_release_time: '23:00' });
    await insertCases(db().knex, [{ reference: 'today', scheduled_release_date: '2026-06-10' }]);
    const r = await run(db(), '--now', '2026-06-10T01:00:00Z');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.summary.released, 1);
  });

  test('a malformed batch_release_time is a configuration error naming the setting', async () => {
    await setSettings(db().knex, { batch_release_enabled: 'true', batch_release_time: '8 o’clock' });
    await insertCases(db().knex, [{ reference: 'overdue', scheduled_release_date: '2026-06-01' }]);
    const before = await db().checksum({ except: RUN_TABLES });
    const r = await runCli(['release-scheduled-cases', '--now', '2026-06-10T12:00:00Z'], { DATABASE_URL: db().url });
    assert.equal(r.code, 78);
    assert.match(r.stderr, /batch_release_time/);
    assert.equal(await db().checksum({ except: RUN_TABLES }), before);
    const run = await db().knex('job_runs').orderBy('id', 'desc').first();
    assert.deepEqual([run.job, run.status, run.exit_code], ['release-scheduled-cases', 'failed', 78]);
    assert.match(run.error, /batch_release_time/);
  });

  test('enable_scheduled_releases=false releases nothing, says so, exits 0', async () => {
    await setSettings(db().knex, { enable_scheduled_releases: 'false' });
    await insertCases(db().knex, [{ reference: 'due', scheduled_release_date: '2026-06-01' }]);
    const before = await db().checksum({ except: RUN_TABLES });
    const r = await runCli(['release-scheduled-cases', '--now', '2026-06-10T12:00:00Z'], { DATABASE_URL: db().url });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Scheduled releases are disabled/);
    assert.equal(await db().checksum({ except: RUN_TABLES }), before);
    const run = await db().knex('job_runs').orderBy('id', 'desc').first();
    assert.deepEqual([run.status, run.exit_code], ['succeeded', 0]);
  });

  test('a second run releases nothing; audit rows are written once per released case', async () => {
    await insertCases(db().knex, [
      { reference: 'a', scheduled_release_date: '2026-06-01' },
      { reference: 'b', scheduled_release_date: '2026-06-10' },
      { reference: 'later', scheduled_release_date: '2026-06-11' },
      { reference: 'never', scheduled_release_date: null },
    ]);
    const first = await run(db(), '--now', '2026-06-10T12:00:00Z');
    assert.equal(first.json.summary.released, 2);
    const second = await run(db(), '--now', '2026-06-10T12:30:00Z');
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.json.summary.released, 0);

    const ids = (await db().knex('cases').whereIn('reference', ['a', 'b']).orderBy('id').pluck('id')).map(String);
    const audit = await db().knex('audit_log').orderBy('id');
    assert.deepEqual(audit.map((a) => a.subject_id), ids);
    for (const row of audit) {
      assert.equal(row.action, 'case.released');
      assert.equal(row.actor, 'job:release-scheduled-cases');
      assert.equal(row.subject_type, 'case');
      assert.equal(fromDbInstant(row.at)?.toISOString(), '2026-06-10T12:00:00.000Z');
    }
  });

  test('a dry run reports what would be released and changes nothing', async () => {
    await insertCases(db().knex, [
      { reference: 'a', scheduled_release_date: '2026-06-01' },
      { reference: 'held', scheduled_release_date: '2026-06-01', hold_start_date: '2026-06-01' },
    ]);
    const before = await db().checksum();
    const r = await runCli(['release-scheduled-cases', '--dry-run', '--now', '2026-06-10T12:00:00Z'], { DATABASE_URL: db().url });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\[dry run\] Starting/);
    assert.match(r.stdout, /Would release: 1 case\n/);
    assert.match(r.stdout, /Held back \(on hold today\): 1 case\n/);
    assert.equal(await db().checksum(), before);
  });

  test('batches smaller than the data, and --limit leaving the rest for the next run', async () => {
    await insertCases(
      db().knex,
      Array.from({ length: 50 }, (_, i) => ({ reference: `B-${String(i).padStart(2, '0')}`, scheduled_release_date: '2026-06-01' })),
    );
    const limited = await run(db(), '--now', '2026-06-10T12:00:00Z', '--batch-size', '7', '--limit', '20');
    assert.equal(limited.code, 0, limited.stderr);
    assert.equal(limited.json.summary.released, 20);
    assert.equal(limited.json.summary.limited, true);
    assert.equal((await releasedRefs(db().knex)).length, 20);
    // The lowest ids first: keyset order.
    const firstIds = await db().knex('cases').orderBy('id').limit(20).pluck('reference');
    assert.deepEqual(await releasedRefs(db().knex), [...firstIds].sort());

    const rest = await run(db(), '--now', '2026-06-10T12:05:00Z', '--batch-size', '7');
    assert.equal(rest.code, 0, rest.stderr);
    assert.equal(rest.json.summary.released, 30);
    assert.equal(rest.json.summary.batches, 5);
    assert.equal(rest.json.summary.limited, false);
    assert.equal((await releasedRefs(db().knex)).length, 50);
    assert.equal(await db().knex('audit_log').where({ action: 'case.released' }).count({ n: '*' }).first().then((r: any) => Number(r.n)), 50);
  });

  test('all 50 in batches of 7', async () => {
    await insertCases(
      db().knex,
      Array.from({ length: 50 }, (_, i) => ({ reference: `C-${String(i).padStart(2, '0')}`, scheduled_release_date: '2026-06-10' })),
    );
    const r = await run(db(), '--now', '2026-06-10T12:00:00Z', '--batch-size', '7');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.summary.released, 50);
    assert.equal(r.json.summary.batches, 8);
  });
  test('a batch larger than one multi-row insert: 1,200 cases in one batch, one audit row each', async () => {
    await insertCases(
      db().knex,
      Array.from({ length: 1200 }, (_, i) => ({ reference: `L-${String(i).padStart(4, '0')}`, scheduled_release_date: '2026-06-09' })),
    );
    const r = await run(db(), '--now', '2026-06-10T12:00:00Z', '--batch-size', '1500');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.summary.released, 1200);
    assert.equal(r.json.summary.batches, 1);
    assert.equal(await db().knex('audit_log').where({ action: 'case.released' }).count({ n: '*' }).first().then((row: any) => Number(row.n)), 1200);
  });
  test('a case released or put on hold after selection is left alone by the conditional update', async () => {
    const { knex, dialect } = db();
    await insertCases(knex, [
      { reference: 'still-due', scheduled_release_date: '2026-06-01' },
      { reference: 'released-meanwhile', scheduled_release_date: '2026-06-01' },
      { reference: 'held-meanwhile', scheduled_release_date: '2026-06-01' },
    ]);
    const ids = (await knex('cases').orderBy('id').pluck('id')).map(Number);
    const otherRelease = toDbInstant(dialect, new Date('2026-06-10T11:00:00Z'));
    await knex('cases').where({ reference: 'released-meanwhile' }).update({ actual_release_date: otherRelease });
    await knex('cases').where({ reference: 'held-meanwhile' }).update({ hold_start_date: '2026-06-10' });
    const now = new Date('2026-06-10T12:00:00Z');
    const done = await knex.transaction((trx) => releaseCases(trx, { dialect, today: '2026-06-10', onlyOverdue: false }, ids, now));
    assert.deepEqual(done, [ids[0]]);
    const other = await knex('cases').where({ reference: 'released-meanwhile' }).first('actual_release_date');
    assert.equal(fromDbInstant(other.actual_release_date)?.toISOString(), '2026-06-10T11:00:00.000Z');
    assert.deepEqual(await releasedRefs(knex), ['released-meanwhile', 'still-due']);
  });
});
