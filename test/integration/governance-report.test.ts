/**
 * `ontime report governance` on every database: two real runs of the governance job on two days,
 * then the report's totals against the audit rows of the range, the CSV read back, and no owner
 * email, owner name or survey name in any format.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fromDbInstant } from '../../src/db/time.js';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { DAY, HOUR, insertMany, insertSurvey, instant } from '../helpers/fixtures.js';

const DAY_A = new Date('2026-06-01T02:00:00Z');
const DAY_B = new Date('2026-06-03T02:00:00Z');
const PRIVATE = ['zeta.owner@private.test', 'Zebediah Privatename', 'Secret Survey Zeta'];

/** RFC 4180: quoted fields may hold commas, quotes (doubled) and line breaks; records end in CRLF. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field), rows.push(row), (row = []), (field = ''), i++;
    } else field += c;
  }
  assert.equal(field, '', 'the last record ends with CRLF');
  return rows;
}

forEachDatabase('report governance', (db) => {
  const dir = mkdtempSync(join(tmpdir(), 'ontime-gov-report-'));
  const env = () => ({ DATABASE_URL: db().url, EMAIL_BACKEND: 'file', EMAIL_FILE_PATH: join(dir, 'mail') });
  const report = (...args: string[]) => runCli(['report', 'governance', '--from', '2026-06-01', '--to', '2026-06-03', ...args], env());

  before(async () => {
    const { knex, dialect } = db();
    const survey = async (values: Parameters<typeof insertSurvey>[2], responses = 0, progress = 0) => {
      const id = await insertSurvey(knex, dialect, { name: PRIVATE[2], owner_email: PRIVATE[0], ...values });
      await knex('surveys').where({ id }).update({ owner_name: PRIVATE[1] });
      await insertMany(knex, 'survey_responses', Array.from({ length: responses }, () => ({ survey_id: id, submitted_at: instant(dialect, DAY_A), payload: '{}' })));
      await insertMany(knex, 'survey_progress', Array.from({ length: progress }, () => ({ survey_id: id, session_key: 'k', data: '{}', updated_at: instant(dialect, DAY_A) })));
      return id;
    };
    const at = (ms: number) => new Date(DAY_A.getTime() + ms);
    await survey({ deletion_date: at(20 * DAY) }); // 30-day warning on day A
    await survey({ deletion_date: at(5 * DAY) }); // 7-day warning on day A
    await survey({ deletion_date: at(10 * HOUR) }); // 1-day warning on day A, soft-deleted on day B
    await survey({ deletion_date: at(-DAY) }); // soft-deleted on day A
    await survey({ deleted_at: at(-31 * DAY) }, 4, 2); // hard-deleted on day A
    await survey({ deleted_at: at(-29 * DAY) }, 1); // hard-deleted on day B
    const held = await survey({ deleted_at: at(-31 * DAY) }, 1); // a legal hold: skipped on both days
    await knex('survey_legal_holds').insert({ survey_id: held, reason: 'litigation', placed_at: instant(dialect, at(-40 * DAY)), removed_at: null });
    for (const now of [DAY_A, DAY_B]) {
      const r = await runCli(['process-data-governance', '--now', now.toISOString()], env());
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
  });

  test('totals equal the audit rows of the range, day by day', async () => {
    const r = await report('--format', 'json');
    assert.equal(r.code, 0, r.stderr);
    const model = JSON.parse(r.stdout);
    const rows = (await db().knex('audit_log').select('at', 'action', 'details')).map((row) => ({
      at: fromDbInstant(row.at)!, action: String(row.action), details: row.details ? JSON.parse(String(row.details)) : {},
    }));
    const inRange = rows.filter((row) => row.at >= new Date('2026-06-01T00:00:00Z') && row.at < new Date('2026-06-04T00:00:00Z'));
    const of = (action: string) => inRange.filter((row) => row.action === action);
    const warnings = (days: number) => of('survey.deletion_warning_sent').filter((row) => row.details.daysBefore === days).length;
    const hard = of('survey.hard_deleted');
    const expected = {
      warnings30: warnings(30),
      warnings7: warnings(7),
      warnings1: warnings(1),
      softDeleted: of('survey.soft_deleted').length,
      hardDeleted: hard.length,
      responsesDeleted: hard.reduce((n, row) => n + row.details.responses, 0),
      progressDeleted: hard.reduce((n, row) => n + row.details.progress, 0),
      skippedLegalHold: of('survey.legal_hold_skipped').reduce((n, row) => n + row.details.surveys, 0),
    };
    assert.deepEqual(model.totals, expected);
    // And what the seeded data makes them.
    assert.deepEqual(expected, { warnings30: 1, warnings7: 1, warnings1: 1, softDeleted: 2, hardDeleted: 2, responsesDeleted: 5, progressDeleted: 2, skippedLegalHold: 2 });
    const days = Object.fromEntries(model.days.map((d: { day: string }) => [d.day, d]));
    assert.deepEqual(Object.keys(days), ['2026-06-01', '2026-06-02', '2026-06-03']);
    assert.equal(days['2026-06-01'].hardDeleted, 1);
    assert.deepEqual(days['2026-06-01'].hardDeletedSurveys.map((h: { responses: number; progress: number }) => [h.responses, h.progress]), [[4, 2]]);
    assert.equal(days['2026-06-02'].softDeleted + days['2026-06-02'].hardDeleted + days['2026-06-02'].warnings30, 0);
    assert.equal(days['2026-06-03'].softDeleted, 1);
    assert.equal(days['2026-06-03'].skippedLegalHold, 1);

    const empty = JSON.parse((await runCli(['report', 'governance', '--from', '2026-06-02', '--to', '2026-06-02', '--format', 'json'], env())).stdout);
    assert.equal(empty.auditRows, 0);
  });

  test('the CSV parses back (RFC 4180, header row) to the same numbers', async () => {
    const json = JSON.parse((await report('--format', 'json')).stdout);
    const r = await report('--format', 'csv');
    assert.equal(r.code, 0, r.stderr);
    const [header, ...records] = parseCsv(r.stdout);
    assert.deepEqual(header, [
      'day', 'warnings_30d', 'warnings_7d', 'warnings_1d', 'soft_deleted', 'hard_deleted', 'responses_deleted', 'progress_deleted', 'skipped_legal_hold', 'hard_deleted_survey_ids',
    ]);
    assert.deepEqual(records.map((rec) => rec[0]), ['2026-06-01', '2026-06-02', '2026-06-03', 'total']);
    const total = records.at(-1)!;
    const t = json.totals;
    assert.deepEqual(total.slice(1, 9).map(Number), [t.warnings30, t.warnings7, t.warnings1, t.softDeleted, t.hardDeleted, t.responsesDeleted, t.progressDeleted, t.skippedLegalHold]);
    const ids = json.days.flatMap((d: { hardDeletedSurveys: Array<{ surveyId: number }> }) => d.hardDeletedSurveys.map((h) => String(h.surveyId)));
    assert.deepEqual(total[9]!.split(' '), ids);
  });

  test('no owner email, owner name or survey name in any format, on stdout or in --out', async () => {
    for (const format of ['text', 'csv', 'json', 'html']) {
      const r = await report('--format', format);
      assert.equal(r.code, 0, r.stderr);
      for (const secret of PRIVATE) assert.ok(!r.stdout.toLowerCase().includes(secret.toLowerCase()), `${format} shows ${secret}`);
      assert.match(r.stdout, /2026-06-01/);
    }
    const file = join(dir, `report-${db().name}.html`);
    const written = await report('--format', 'html', '--out', file);
    assert.equal(written.stdout, '');
    const html = readFileSync(file, 'utf8');
    assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
    assert.match(html, /<th scope="col">Responses deleted<\/th>/);
    for (const secret of PRIVATE) assert.ok(!html.includes(secret));
  });

  test('a wrong range or format is a usage error', async () => {
    assert.equal((await runCli(['report', 'governance', '--from', '2026-06-05', '--to', '2026-06-01'], env())).code, 64);
    assert.equal((await runCli(['report', 'governance', '--from', '2026-02-30'], env())).code, 64);
    assert.equal((await report('--format', 'pdf')).code, 64);
    assert.equal((await runCli(['report', 'finance'], env())).code, 64);
  });
});
