/**
 * The `surgicase` profile on SurgiCase's own `cases` table (MariaDB, and SQLite rendering the same
 * DDL): only active cases move, a move stamps the target status's column, --ids names cases by
 * their string keys as written, a backward case is refused on its own while the others move
 * (exit 1), and ontime's history goes to its own ontime_case_status_history.
 */
import assert from 'node:assert/strict';
import { before, beforeEach, test } from 'node:test';
import type { Knex } from 'knex';
import { fromDbInstant } from '../../src/db/time.js';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase, type TestDatabase } from '../helpers/databases.js';
import { columnNames, tableNames } from '../helpers/django-ddl.js';
import { createSurgiCaseSchema, insertSurgiCases, readSurgiCases } from '../helpers/surgicase-schema.js';

const NOW = '2026-06-08T08:00:00Z';
const EARLIER = new Date('2026-05-01T12:00:00Z');

async function run(db: TestDatabase, args: string[], env: Record<string, string> = {}) {
  const result = await runCli([...args, '--json', '--now', NOW], { DATABASE_URL: db.url, ONTIME_PROFILE: 'surgicase', ...env });
  let json: any = null;
  try {
    json = JSON.parse(result.stdout);
  } catch {
    // left null; assertions print stdout/stderr
  }
  return { ...result, json };
}

async function statuses(knex: Knex): Promise<Record<string, number>> {
  const rows = await readSurgiCases(knex);
  return Object.fromEntries([...rows].map(([k, r]) => [k, Number(r.case_status)]));
}

const iso = (v: unknown) => fromDbInstant(v)?.toISOString() ?? null;

async function history(knex: Knex) {
  return (await knex('ontime_case_status_history').orderBy('id')).map((h) => [String(h.case_id), Number(h.from_status), Number(h.to_status), h.source]);
}

forEachDatabase(
  'surgicase profile',
  (db) => {
    let casesColumns: string[];
    before(async (t) => {
      const { knex, dialect } = db();
      if (dialect === 'postgres') return;
      await createSurgiCaseSchema(knex, dialect);
      casesColumns = await columnNames(knex, 'cases');
      const m = await runCli(['migrate'], { DATABASE_URL: db().url, ONTIME_PROFILE: 'surgicase' });
      assert.equal(m.code, 0, m.stderr);
      void t;
    });

    beforeEach(async () => {
      const { knex, dialect } = db();
      if (dialect === 'postgres') return;
      await knex('cases').del();
      await knex('ontime_case_status_history').del();
      await knex('ontime_audit_log').del();
    });

    test('migrate: ontime_case_status_history is created, SurgiCase\'s cases keeps its columns', async (t) => {
      const { knex, dialect } = db();
      if (dialect === 'postgres') return t.skip('SurgiCase runs on MySQL');
      assert.deepEqual(await columnNames(knex, 'cases'), casesColumns);
      const tables = await tableNames(knex, dialect);
      assert.ok(tables.includes('ontime_case_status_history'));
      assert.equal(tables.includes('case_status_history'), false);
    });

    test('weekly-pending-payment-update moves only active 10s, stamps pending_payment_ts, history in ontime\'s own table', async (t) => {
      const { knex, dialect } = db();
      if (dialect === 'postgres') return t.skip('SurgiCase runs on MySQL');
      await insertSurgiCases(knex, dialect, [
        { case_id: 'SC-0001', case_status: 10, stamps: { submitted_ts: EARLIER } },
        { case_id: 'SC-0002', case_status: 10, active: false },
        { case_id: 'SC-0003', case_status: 15, stamps: { pending_payment_ts: EARLIER } },
        { case_id: '0042', case_status: 10 },
      ]);
      const r = await run(db(), ['weekly-pending-payment-update']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.json.summary.moved, 2);
      assert.deepEqual(await statuses(knex), { '0042': 15, 'SC-0001': 15, 'SC-0002': 10, 'SC-0003': 15 });
      const rows = await readSurgiCases(knex);
      assert.equal(iso(rows.get('SC-0001')!.pending_payment_ts), '2026-06-08T08:00:00.000Z');
      assert.equal(iso(rows.get('0042')!.pending_payment_ts), '2026-06-08T08:00:00.000Z');
      assert.equal(iso(rows.get('SC-0001')!.submitted_ts), EARLIER.toISOString(), 'other stamps untouched');
      assert.equal(rows.get('SC-0002')!.pending_payment_ts, null, 'inactive case untouched');
      assert.equal(iso(rows.get('SC-0003')!.pending_payment_ts), EARLIER.toISOString(), 'a case not moved keeps its stamp');
      assert.deepEqual(await history(knex), [
        ['0042', 10, 15, 'job:weekly-pending-payment-update'],
        ['SC-0001', 10, 15, 'job:weekly-pending-payment-update'],
      ]);
      const audit = await knex('ontime_audit_log').where({ action: 'case.status_changed' }).orderBy('id');
      assert.deepEqual(audit.map((a) => a.subject_id), ['0042', 'SC-0001']);
    });

    test('weekly-paid-update stamps paid_to_provider_ts; a dry run writes nothing', async (t) => {
      const { knex, dialect } = db();
      if (dialect === 'postgres') return t.skip('SurgiCase runs on MySQL');
      await insertSurgiCases(knex, dialect, [{ case_id: 'SC-1', case_status: 15 }, { case_id: 'SC-2', case_status: 15, active: false }]);
      const dry = await run(db(), ['weekly-paid-update', '--dry-run']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.equal(dry.json.summary.moved, 1);
      assert.equal((await readSurgiCases(knex)).get('SC-1')!.paid_to_provider_ts, null);
      const r = await run(db(), ['weekly-paid-update']);
      assert.equal(r.code, 0, r.stderr);
      const rows = await readSurgiCases(knex);
      assert.equal(Number(rows.get('SC-1')!.case_status), 20);
      assert.equal(iso(rows.get('SC-1')!.paid_to_provider_ts), '2026-06-08T08:00:00.000Z');
      assert.equal(Number(rows.get('SC-2')!.case_status), 15);
    });

    test('bulk-update-case-status --to with string --ids: a backward case is refused and reported, the others move, exit 1', async (t) => {
      const { knex, dialect } = db();
      if (dialect === 'postgres') return t.skip('SurgiCase runs on MySQL');
      await insertSurgiCases(knex, dialect, [
        { case_id: 'SC-A', case_status: 10 },
        { case_id: 'SC-B', case_status: 20 },
        { case_id: 'SC-C', case_status: 15 },
        { case_id: 'SC-D', case_status: 8, active: false },
        { case_id: '007', case_status: 7 },
      ]);
      const r = await run(db(), ['bulk-update-case-status', '--to', '15', '--ids', 'SC-A,SC-B,SC-C,SC-D,SC-NONE,007']);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.json.summary.moved, 2);
      assert.equal(r.json.summary.refused, 1);
      assert.deepEqual(r.json.summary.refusedCases, ['SC-B']);
      assert.equal(r.json.summary.alreadyThere, 1);
      assert.equal(r.json.summary.notMatching, 2);
      assert.deepEqual(await statuses(knex), { '007': 15, 'SC-A': 15, 'SC-B': 20, 'SC-C': 15, 'SC-D': 8 });
      assert.deepEqual(await history(knex), [
        ['007', 7, 15, 'job:bulk-update-case-status'],
        ['SC-A', 10, 15, 'job:bulk-update-case-status'],
      ]);
      const human = await runCli(['bulk-update-case-status', '--to', '15', '--ids', 'SC-B', '--now', NOW], { DATABASE_URL: db().url, ONTIME_PROFILE: 'surgicase' });
      assert.equal(human.code, 1);
      assert.match(human.stdout, /case SC-B: refused, moving it back from 20 to 15 needs --force/);
      assert.match(human.stdout, /Refused \(backward without --force\): 1 case/);
      const forced = await run(db(), ['bulk-update-case-status', '--to', '15', '--ids', 'SC-B', '--force']);
      assert.equal(forced.code, 0, forced.stderr);
      assert.equal((await statuses(knex))['SC-B'], 15);
      assert.equal(iso((await readSurgiCases(knex)).get('SC-B')!.pending_payment_ts), '2026-06-08T08:00:00.000Z');
    });

    test('doctor accepts SurgiCase\'s table under the profile; the release and email jobs have nothing to work on (78)', async (t) => {
      const { dialect } = db();
      if (dialect === 'postgres') return t.skip('SurgiCase runs on MySQL');
      const env = { DATABASE_URL: db().url, ONTIME_PROFILE: 'surgicase', EMAIL_BACKEND: 'console' };
      const doctor = await runCli(['doctor'], env);
      assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
      assert.match(doctor.stdout, /cases\.case_status, inserts into ontime_case_status_history/);
      for (const job of ['release-scheduled-cases', 'send-scheduled-emails']) {
        const r = await runCli([job, '--now', NOW], env);
        assert.equal(r.code, 78, r.stdout + r.stderr);
        assert.match(r.stderr, /surgicase profile's case table cases has no release or email columns/);
      }
    });

    test('--from A --to B with string --ids moves the listed active cases at A', async (t) => {
      const { knex, dialect } = db();
      if (dialect === 'postgres') return t.skip('SurgiCase runs on MySQL');
      await insertSurgiCases(knex, dialect, [{ case_id: 'X1', case_status: 10 }, { case_id: 'X2', case_status: 10 }, { case_id: 'X3', case_status: 15 }]);
      const r = await run(db(), ['bulk-update-case-status', '--from', '10', '--to', '15', '--ids', 'X2,X3']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.json.summary.moved, 1);
      assert.equal(r.json.summary.notMatching, 1);
      assert.deepEqual(await statuses(knex), { X1: 10, X2: 15, X3: 15 });
    });
  },
  { migrate: false },
);

forEachDatabase('string --ids under an integer-keyed profile', (db) => {
  test('a word in --ids is a usage error (64) that changes nothing', async () => {
    const r = await runCli(['bulk-update-case-status', '--from', '10', '--to', '15', '--ids', '1,abc', '--now', NOW], { DATABASE_URL: db().url });
    assert.equal(r.code, 64, r.stderr);
    assert.match(r.stderr, /--ids must be a comma-separated list of ids from 1 to 9007199254740991, not "abc"/);
    const none = await runCli(['bulk-update-case-status', '--to', '15', '--now', NOW], { DATABASE_URL: db().url });
    assert.equal(none.code, 64);
    assert.match(none.stderr, /--from is required/);
  });
});
