/**
 * Batch sizing does not change what a run does: with `--batch-size auto` (time-sized, the
 * default), 1 and 7, the same rows are changed and the same audit/history rows written, on every
 * database; `--limit` counts items exactly under auto sizing; --json reports the batches.
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import type { Knex } from 'knex';
import { AUTO_BATCH } from '../../src/runner/batches.js';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { DAY, insertMany, insertSurvey, progressRow } from '../helpers/fixtures.js';

const NOW = '2026-11-20T03:00:00Z';
// More due rows than auto sizing's first batch (1,000), so auto runs more than one batch.
const DUE = 1_100;
const KEPT = 40;
const SIZINGS = ['auto', '1', '7'] as const;

/** Rows of a table without what differs between identical runs (row ids, run ids, clocks). */
async function rowsOf(knex: Knex, table: string, subjectIndex: Map<string, number>, subjectColumn: string): Promise<unknown[]> {
  const rows: Record<string, unknown>[] = await knex(table).orderBy('id');
  return rows
    .map((r) => {
      const { id: _id, run_id: _run, at: _at, ...rest } = r;
      const subject = String(rest[subjectColumn]);
      return { ...rest, [subjectColumn]: subjectIndex.get(subject) ?? `unknown ${subject}` };
    })
    .sort((a, b) => Number(a[subjectColumn]) - Number(b[subjectColumn]));
}

const indexOf = (ids: unknown[]) => new Map(ids.map((id, i) => [String(id), i]));

forEachDatabase('batch sizing', (db) => {
  const env = () => ({ DATABASE_URL: db().url });
  const json = (stdout: string) => JSON.parse(stdout);

  beforeEach(async () => {
    await db().reset();
  });

  /** Expired and live progress interleaved; returns the ids in insertion order. */
  async function seedProgress(): Promise<unknown[]> {
    const surveyId = await insertSurvey(db().knex, db().dialect);
    const now = new Date(NOW).getTime();
    const rows = Array.from({ length: DUE + KEPT }, (_, i) =>
      progressRow(db().dialect, {
        survey_id: surveyId,
        session_key: `s-${i}`,
        expires_at: new Date(i % 28 === 27 ? now + DAY : now - DAY),
        updated_at: new Date(now - 2 * DAY),
      }),
    );
    await insertMany(db().knex, 'survey_progress', rows, 500);
    return db().knex('survey_progress').orderBy('id').pluck('id');
  }

  async function cleanup(sizing: string, ...extra: string[]) {
    const ids = await seedProgress();
    const res = await runCli(['cleanup-survey-progress', '--now', NOW, '--json', '--batch-size', sizing, ...extra], env());
    assert.equal(res.code, 0, res.stderr);
    const index = indexOf(ids);
    const left = (await db().knex('survey_progress').orderBy('id').pluck('id')).map((id: unknown) => index.get(String(id)));
    return { out: json(res.stdout), left, audit: await progressAudit(index) };
  }

  /**
   * cleanup-survey-progress writes one audit row per batch (counts and the id range deleted), so
   * the batches' rows differ with the sizing; what they record together must not: the totals, and
   * ranges that are disjoint, ascending and cover exactly the deleted rows.
   */
  async function progressAudit(index: Map<string, number>) {
    const rows: Array<{ actor: string; action: string; details: string }> = await db().knex('audit_log').orderBy('id');
    const totals = { rows: rows.length, deleted: 0, authenticated: 0, anonymous: 0, token: 0, covered: [] as number[] };
    let previousLast = -1;
    for (const row of rows) {
      assert.equal(row.action, 'survey_progress.deleted');
      assert.equal(row.actor, 'job:cleanup-survey-progress');
      const d = JSON.parse(row.details);
      const [first, last] = [index.get(String(d.firstId))!, index.get(String(d.lastId))!];
      assert.ok(first > previousLast && last >= first, `ranges ascend and do not overlap: ${row.details}`);
      previousLast = last;
      for (let i = first; i <= last; i++) totals.covered.push(i);
      for (const key of ['deleted', 'authenticated', 'anonymous', 'token'] as const) totals[key] += Number(d[key]);
    }
    return totals;
  }

  test('cleanup-survey-progress: auto, 1 and 7 delete the same rows and write the same audit rows', async () => {
    const results = [];
    for (const sizing of SIZINGS) {
      if (results.length > 0) await db().reset();
      results.push({ sizing, ...(await cleanup(sizing)) });
    }
    const [auto, ...fixed] = results;
    const due = DUE + KEPT - Math.floor((DUE + KEPT) / 28);
    assert.equal(auto!.out.summary.deleted, due);
    assert.equal(auto!.audit.deleted, due);
    const deletedPositions = Array.from({ length: DUE + KEPT }, (_, i) => i).filter((i) => !auto!.left.includes(i));
    // Every deleted row lies in a recorded range; a range may span kept rows between deleted ones.
    assert.ok(deletedPositions.every((i) => auto!.audit.covered.includes(i)));
    const sameRecord = ({ rows: _rows, covered: _covered, ...sums }: typeof auto.audit) => sums;
    for (const other of fixed) {
      assert.equal(other.out.summary.deleted, auto!.out.summary.deleted, `--batch-size ${other.sizing}`);
      assert.deepEqual(other.left, auto!.left, `--batch-size ${other.sizing}: rows left`);
      assert.deepEqual(sameRecord(other.audit), sameRecord(auto!.audit), `--batch-size ${other.sizing}: audit totals`);
      assert.ok(deletedPositions.every((i) => other.audit.covered.includes(i)), `--batch-size ${other.sizing}: audit ranges`);
    }
    // One audit row per batch that deleted something.
    assert.equal(results[1]!.audit.rows, due);
    assert.equal(results[2]!.audit.rows, Math.ceil(due / 7));
    const seven = results[2]!.out.timing;
    assert.equal(seven.smallestBatchSize, 7);
    assert.equal(seven.largestBatchSize, 7);
    assert.equal(seven.lastBatchSize, 7);
    assert.ok(seven.batches >= Math.ceil(due / 7), JSON.stringify(seven));
    const timing = auto!.out.timing;
    assert.ok(timing.batches >= 2, JSON.stringify(timing));
    assert.ok(timing.smallestBatchSize >= AUTO_BATCH.min && timing.largestBatchSize <= AUTO_BATCH.max, JSON.stringify(timing));
    assert.equal(typeof timing.longestBatchMs, 'number');
  });

  test('--limit counts items exactly under auto sizing (a limit past the first batch)', async () => {
    const { out, audit, left } = await cleanup('auto', '--limit', '1003');
    assert.equal(out.summary.deleted, 1003);
    assert.equal(audit.deleted, 1003);
    assert.equal(left.length, DUE + KEPT - 1003);
    assert.ok(out.timing.batches >= 2, JSON.stringify(out.timing));
  });

  test('--verbose prints each batch with its size and time', async () => {
    await seedProgress();
    const res = await runCli(['cleanup-survey-progress', '--now', NOW, '--verbose', '--batch-size', '500'], env());
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.split('\n').filter((l) => /^\s*batch \d+: size 500, [\d,]+ rows in [\d.]+ ms$/.test(l));
    assert.equal(lines.length, 3, res.stdout);
    assert.match(res.stdout, /Batches: 3 \(size 500–500, last 500\); longest transaction [\d.]+ ms/);
  });

  test('release-scheduled-cases: auto, 1 and 7 release the same cases and write the same audit and history rows', async () => {
    const snapshots = [];
    for (const sizing of SIZINGS) {
      await db().reset();
      const rows = Array.from({ length: DUE + KEPT }, (_, i) => ({
        reference: `R-${String(i).padStart(5, '0')}`,
        title: 'sizing',
        status: 10,
        scheduled_release_date: i % 28 === 27 ? '2026-12-31' : '2026-11-01',
      }));
      await insertMany(db().knex, 'cases', rows, 500);
      const ids = await db().knex('cases').orderBy('id').pluck('id');
      const index = indexOf(ids);
      const res = await runCli(['release-scheduled-cases', '--now', NOW, '--json', '--batch-size', sizing], env());
      assert.equal(res.code, 0, res.stderr);
      snapshots.push({
        sizing,
        summary: json(res.stdout).summary,
        released: await db().knex('cases').whereNotNull('actual_release_date').orderBy('reference').pluck('reference'),
        audit: await rowsOf(db().knex, 'audit_log', index, 'subject_id'),
        history: await rowsOf(db().knex, 'case_status_history', index, 'case_id'),
      });
    }
    const [auto, ...fixed] = snapshots;
    assert.equal(auto!.released.length, DUE + KEPT - Math.floor((DUE + KEPT) / 28));
    assert.ok(auto!.audit.length > 0);
    for (const other of fixed) {
      const { batches: _a, ...sameSummary } = other.summary;
      const { batches: _b, ...autoSummary } = auto!.summary;
      assert.deepEqual(sameSummary, autoSummary, `--batch-size ${other.sizing}: summary`);
      assert.deepEqual(other.released, auto!.released, `--batch-size ${other.sizing}: released cases`);
      assert.deepEqual(other.audit, auto!.audit, `--batch-size ${other.sizing}: audit rows`);
      assert.deepEqual(other.history, auto!.history, `--batch-size ${other.sizing}: history rows`);
    }
  });
  test('weekly-pending-payment-update: auto, 1 and 7 move the same cases and write the same audit and history rows', async () => {
    const snapshots = [];
    for (const sizing of SIZINGS) {
      await db().reset();
      // Every 28th case is at another status: interleaved rows the move must leave alone.
      const rows = Array.from({ length: DUE + KEPT }, (_, i) => ({ reference: `W-${String(i).padStart(5, '0')}`, title: 'sizing', status: i % 28 === 27 ? 20 : 10 }));
      await insertMany(db().knex, 'cases', rows, 500);
      const index = indexOf(await db().knex('cases').orderBy('id').pluck('id'));
      const res = await runCli(['weekly-pending-payment-update', '--now', NOW, '--json', '--batch-size', sizing], env());
      assert.equal(res.code, 0, res.stderr);
      const { batches: _b, ...summary } = json(res.stdout).summary;
      snapshots.push({
        sizing,
        summary,
        moved: await db().knex('cases').where('status', 15).orderBy('reference').pluck('reference'),
        audit: await rowsOf(db().knex, 'audit_log', index, 'subject_id'),
        history: await rowsOf(db().knex, 'case_status_history', index, 'case_id'),
      });
    }
    const [auto, ...fixed] = snapshots;
    const due = DUE + KEPT - Math.floor((DUE + KEPT) / 28);
    assert.equal(auto!.moved.length, due);
    assert.equal(auto!.audit.length, due);
    assert.equal(auto!.history.length, due);
    for (const other of fixed) {
      assert.deepEqual(other.summary, auto!.summary, `--batch-size ${other.sizing}: summary`);
      assert.deepEqual(other.moved, auto!.moved, `--batch-size ${other.sizing}: moved cases`);
      assert.deepEqual(other.audit, auto!.audit, `--batch-size ${other.sizing}: audit rows`);
      assert.deepEqual(other.history, auto!.history, `--batch-size ${other.sizing}: history rows`);
    }
  });
});
