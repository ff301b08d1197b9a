/**
 * process-data-governance on every database: warning thresholds, soft and hard deletion at their
 * exact boundaries, legal holds (also placed in the gap between selection and change), mail
 * failures, dry run, the human output, and a property test over random datasets.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, test } from 'node:test';
import fc from 'fast-check';
import type { Knex } from 'knex';
import { warningDedupeKey } from '../../src/jobs/data-governance/index.js';
import { HARD_DELETE_LABEL } from '../../src/jobs/data-governance/hard-delete.js';
import { SOFT_DELETE_LABEL } from '../../src/jobs/data-governance/soft-delete.js';
import { WARNINGS_LABEL } from '../../src/jobs/data-governance/warnings.js';
import type { RunHooks } from '../../src/runner/hooks.js';
import type { Dialect } from '../../src/config.js';
import { fromDbInstant } from '../../src/db/time.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { DAY, HOUR, insertMany, insertSurvey, instant } from '../helpers/fixtures.js';
import { runRows, sleep } from '../helpers/run-safety.js';
import { closedPort, startSmtpServer, type TestSmtpServer } from '../helpers/smtp.js';

const NOW = new Date('2026-06-01T02:00:00Z');
const SECOND = 1000;
const after_ = (ms: number) => new Date(NOW.getTime() + ms);

interface Summary {
  warningsSent: number;
  warnings30: number;
  warnings7: number;
  warnings1: number;
  warningsInvalidEmail: number;
  warningsFailed: number;
  warningsNotSent: number;
  softDeleted: number;
  hardDeleted: number;
  skippedLegalHold: number;
  hardDeletedRows: { responses: number; progress: number; warnings: number; removedHolds: number };
}

async function addHold(knex: Knex, dialect: Dialect, surveyId: number, removed = false): Promise<void> {
  await knex('survey_legal_holds').insert({
    survey_id: surveyId,
    reason: 'litigation',
    placed_at: instant(dialect, new Date('2026-01-01T00:00:00Z')),
    removed_at: removed ? instant(dialect, new Date('2026-02-01T00:00:00Z')) : null,
  });
}

async function addChildren(knex: Knex, dialect: Dialect, surveyId: number, responses: number, progress = 0): Promise<void> {
  await insertMany(
    knex,
    'survey_responses',
    Array.from({ length: responses }, (_, i) => ({ survey_id: surveyId, submitted_at: instant(dialect, NOW), payload: `{"n":${i}}` })),
  );
  await insertMany(
    knex,
    'survey_progress',
    Array.from({ length: progress }, () => ({ survey_id: surveyId, session_key: 'k', data: '{}', updated_at: instant(dialect, NOW) })),
  );
}

const count = async (knex: Knex, table: string, where: Record<string, unknown> = {}) =>
  Number((await knex(table).where(where).count<{ n: number }[]>({ n: '*' }))[0]!.n);

const deletedAt = async (knex: Knex, id: number) => fromDbInstant((await knex('surveys').where({ id }).first('deleted_at'))?.deleted_at);

forEachDatabase('process-data-governance', (db) => {
  let smtp: TestSmtpServer;

  before(async () => {
    smtp = await startSmtpServer();
  });
  after(async () => {
    await smtp.close();
  });
  beforeEach(async () => {
    await db().reset();
    smtp.respondWith(null);
    smtp.messages.length = 0;
  });
  // The test seams of a run (runner/hooks.ts), set by a test and handed to the in-process run.
  let hooks: Partial<RunHooks> = {};
  afterEach(() => {
    hooks = {};
  });

  const run = (args: string[] = [], env: Record<string, string> = smtp.env()): Promise<CliResult> =>
    runCli(['process-data-governance', '--now', NOW.toISOString(), ...args], { DATABASE_URL: db().url, SITE_URL: 'https://surveys.example.org', ...env }, { hooks });

  const runJson = async (args: string[] = [], env?: Record<string, string>) => {
    const r = await run(['--json', ...args], env);
    let summary: Summary;
    try {
      summary = JSON.parse(r.stdout).summary;
    } catch {
      throw new Error(`no JSON on stdout (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
    }
    return { ...r, summary };
  };

  const survey = (values: Parameters<typeof insertSurvey>[2]) => insertSurvey(db().knex, db().dialect, values);

  test('the warning is the smallest of 30, 7, 1 days at least the time left; at the instant itself it is a soft deletion', async () => {
    const { knex } = db();
    const cases: [string, number, 30 | 7 | 1 | null][] = [
      ['31d', 31 * DAY, null],
      ['30d', 30 * DAY, 30],
      ['20d', 20 * DAY, 30],
      ['7d', 7 * DAY, 7],
      ['5d', 5 * DAY, 7],
      ['1d', 1 * DAY, 1],
      ['10h', 10 * HOUR, 1],
      ['0', 0, null],
    ];
    const ids = new Map<string, number>();
    for (const [label, offset] of cases) {
      ids.set(label, await survey({ name: `S ${label}`, owner_email: `owner-${label}@example.test`, deletion_date: after_(offset) }));
    }
    const r = await runJson();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      [r.summary.warningsSent, r.summary.warnings30, r.summary.warnings7, r.summary.warnings1, r.summary.softDeleted],
      [6, 2, 2, 2, 1],
    );
    for (const [label, offset, days] of cases) {
      const id = ids.get(label)!;
      const rows = await knex('survey_deletion_warnings').where({ survey_id: id });
      const mails = smtp.messages.filter((m) => m.to.includes(`owner-${label}@example.test`));
      if (days === null) {
        assert.equal(rows.length, 0, `${label}: no warning`);
        assert.equal(mails.length, 0, `${label}: no mail`);
      } else {
        assert.equal(rows.length, 1, `${label}: one warning row`);
        assert.equal(Number(rows[0].days_before), days, `${label}: ${days}-day warning`);
        assert.equal(fromDbInstant(rows[0].deletion_date)!.getTime(), after_(offset).getTime());
        assert.equal(mails.length, 1, `${label}: one mail`);
        assert.match(mails[0]!.text, new RegExp(`https://surveys.example.org/surveys/${id}/`));
        assert.match(mails[0]!.text, /S \S+/);
        const outbox = await knex('email_outbox').where({ dedupe_key: warningDedupeKey(id, days, after_(offset)) }).first();
        assert.equal(outbox?.status, 'sent', `${label}: outbox row sent`);
      }
    }
    assert.equal(warningDedupeKey(7, 30, new Date('2026-12-20T02:00:00Z')), 'survey-warning:7:30:2026-12-20T02:00:00Z');
    assert.ok(await deletedAt(knex, ids.get('0')!), 'deletion_date == now is soft-deleted');
    assert.equal(await count(knex, 'audit_log', { action: 'survey.deletion_warning_sent' }), 6);
  });

  test('a warning is sent once; a moved deletion date earns a fresh one; a larger warning never sent is not sent late', async () => {
    const { knex, dialect } = db();
    const a = await survey({ deletion_date: after_(20 * DAY), owner_email: 'a@example.test' });
    const b = await survey({ deletion_date: after_(5 * DAY), owner_email: 'b@example.test' });
    const first = await runJson();
    assert.deepEqual([first.summary.warnings30, first.summary.warnings7], [1, 1]);
    assert.equal(await count(knex, 'survey_deletion_warnings', { survey_id: b, days_before: 30 }), 0, 'no late 30-day warning');

    const second = await runJson();
    assert.equal(second.summary.warningsSent, 0);
    assert.equal(smtp.messages.length, 2);

    await knex('surveys').where({ id: a }).update({ deletion_date: instant(dialect, after_(25 * DAY)) });
    const third = await runJson();
    assert.equal(third.summary.warnings30, 1, 'moved date re-warns');
    assert.equal(await count(knex, 'survey_deletion_warnings', { survey_id: a, days_before: 30 }), 2);
    assert.equal(smtp.messages.length, 3);
  });

  test('soft deletion at deletion_date <= now, to the second', async () => {
    const { knex } = db();
    const before1 = await survey({ deletion_date: after_(-SECOND) });
    const exact = await survey({ deletion_date: NOW });
    const later = await survey({ deletion_date: after_(SECOND) });
    const r = await runJson();
    assert.equal(r.summary.softDeleted, 2);
    assert.equal((await deletedAt(knex, before1))?.getTime(), NOW.getTime());
    assert.equal((await deletedAt(knex, exact))?.getTime(), NOW.getTime());
    assert.equal(await deletedAt(knex, later), null);
    assert.equal(await count(knex, 'audit_log', { action: 'survey.soft_deleted' }), 2);
  });

  test('hard deletion at deleted_at <= now - 30 days, to the second, with its rows; audit keeps counts, no personal data', async () => {
    const { knex, dialect } = db();
    const cutoff = NOW.getTime() - 30 * DAY;
    const old = await survey({ name: 'Secret name', owner_email: 'secret@example.test', deleted_at: new Date(cutoff - SECOND) });
    const exact = await survey({ deleted_at: new Date(cutoff) });
    const young = await survey({ deleted_at: new Date(cutoff + SECOND) });
    await addChildren(knex, dialect, old, 25, 3);
    await addHold(knex, dialect, old, true);
    await knex('survey_deletion_warnings').insert({ survey_id: old, days_before: 30, deletion_date: instant(dialect, after_(-40 * DAY)), sent_at: instant(dialect, NOW) });
    const r = await runJson(['--batch-size', '7']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.summary.hardDeleted, 2);
    assert.deepEqual(r.summary.hardDeletedRows, { responses: 25, progress: 3, warnings: 1, removedHolds: 1 });
    assert.equal(await count(knex, 'surveys', { id: old }), 0);
    assert.equal(await count(knex, 'surveys', { id: exact }), 0);
    assert.equal(await count(knex, 'surveys', { id: young }), 1);
    for (const table of ['survey_responses', 'survey_progress', 'survey_legal_holds', 'survey_deletion_warnings']) {
      assert.equal(await count(knex, table), 0, `${table} emptied`);
    }
    const auditRow = await knex('audit_log').where({ action: 'survey.hard_deleted', subject_id: String(old) }).first();
    assert.deepEqual(JSON.parse(auditRow.details), { responses: 25, progress: 3, warnings: 1, removedHolds: 1, survey: 1 });
    const everything = JSON.stringify(await knex('audit_log').select('*'));
    assert.doesNotMatch(everything, /Secret name|secret@example/);
  });

  test('an active legal hold stops warnings, soft and hard deletion, and is counted; a removed one does not', async () => {
    const { knex, dialect } = db();
    const warnHeld = await survey({ deletion_date: after_(3 * DAY) });
    const softHeld = await survey({ deletion_date: after_(-DAY) });
    const hardHeld = await survey({ deleted_at: after_(-60 * DAY) });
    const released = await survey({ deletion_date: after_(-DAY) });
    for (const id of [warnHeld, softHeld, hardHeld]) await addHold(knex, dialect, id);
    await addHold(knex, dialect, hardHeld, true);
    await addHold(knex, dialect, released, true);
    await addChildren(knex, dialect, hardHeld, 5, 1);
    const before_ = await db().checksum();
    const r = await runJson();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      [r.summary.warningsSent, r.summary.softDeleted, r.summary.hardDeleted, r.summary.skippedLegalHold],
      [0, 1, 0, 3],
    );
    assert.equal(await deletedAt(knex, softHeld), null);
    assert.ok(await deletedAt(knex, released));
    assert.equal(await count(knex, 'survey_responses', { survey_id: hardHeld }), 5);
    assert.equal(await count(knex, 'survey_legal_holds', { survey_id: hardHeld }), 2);
    assert.equal(smtp.messages.length, 0);
    assert.notEqual(before_, await db().checksum());
  });

  const STEP_LABEL = { warnings: WARNINGS_LABEL, soft: SOFT_DELETE_LABEL, hard: HARD_DELETE_LABEL };
  for (const step of ['warnings', 'soft', 'hard'] as const) {
    test(`a hold placed between selection and change protects the survey (${step})`, async () => {
      const { knex, dialect } = db();
      const id =
        step === 'warnings'
          ? await survey({ deletion_date: after_(3 * DAY) })
          : step === 'soft'
            ? await survey({ deletion_date: after_(-DAY) })
            : await survey({ deleted_at: after_(-40 * DAY) });
      await addChildren(knex, dialect, id, 3, 1);
      const other = await survey({ deletion_date: after_(-DAY) }); // proves the run went on
      const seen: number[][] = [];
      hooks.afterSelect = async (s, ids) => {
        if (s !== STEP_LABEL[step]) return;
        seen.push(ids);
        // Another connection, another transaction: exactly what the application would do.
        await addHold(knex, dialect, id);
      };
      const r = await runJson();
      assert.equal(r.code, 0, r.stderr);
      assert.ok(seen.length > 0 && seen[0]!.includes(id), 'the survey was selected before the hold');
      assert.equal(r.summary.skippedLegalHold, 1);
      assert.equal(await count(knex, 'surveys', { id }), 1);
      assert.equal(await count(knex, 'survey_responses', { survey_id: id }), 3);
      assert.equal(await count(knex, 'survey_progress', { survey_id: id }), 1);
      assert.equal(await count(knex, 'survey_deletion_warnings', { survey_id: id }), 0);
      if (step === 'soft') assert.equal(await deletedAt(knex, id), null);
      if (step === 'warnings') assert.equal(smtp.messages.length, 0);
      assert.ok(await deletedAt(knex, other), 'other surveys are processed');
    });
  }

  test('a hold placed after the children went and before the survey row is deleted keeps the survey and its holds', async () => {
    const { knex, dialect } = db();
    const id = await survey({ deleted_at: after_(-40 * DAY) });
    await addChildren(knex, dialect, id, 5, 2);
    await addHold(knex, dialect, id, true);
    hooks.beforeSurveyRowDelete = async (surveyId) => {
      if (surveyId === id) await addHold(knex, dialect, id);
    };
    const r = await runJson(['--batch-size', '2']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([r.summary.hardDeleted, r.summary.skippedLegalHold], [0, 1]);
    assert.equal(await count(knex, 'surveys', { id }), 1, 'the survey row stays');
    assert.equal(await count(knex, 'survey_legal_holds', { survey_id: id }), 2, 'the removed hold was rolled back with it');
    assert.equal(await count(knex, 'audit_log', { action: 'survey.hard_deleted' }), 0);
    // Responses were due 10 days ago and went in their own batches before the hold existed.
    assert.equal(await count(knex, 'survey_responses', { survey_id: id }), 0);
  });

  test('a batch deletes children across its surveys in bounded transactions; a hold placed in the middle stops only that survey', async () => {
    const { knex, dialect } = db();
    // --batch-size 2: both surveys in one batch, at most 20 child rows per transaction.
    const big = await survey({ deleted_at: after_(-40 * DAY) });
    const small = await survey({ deleted_at: after_(-40 * DAY) });
    await addChildren(knex, dialect, big, 50, 2);
    await addChildren(knex, dialect, small, 5, 1);
    await addHold(knex, dialect, big, true);
    await addHold(knex, dialect, small, true);
    const transactions: string[] = [];
    hooks.afterChildTransaction = async (table, ids) => {
      assert.deepEqual(ids, [big, small], 'one batch spans both surveys');
      transactions.push(table);
      if (transactions.length === 1) await addHold(knex, dialect, big);
    };
    const r = await run(['--json', '--batch-size', '2']);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout);
    assert.deepEqual([json.summary.hardDeleted, json.summary.skippedLegalHold], [1, 1]);
    assert.ok(json.timing.longestBatchMs > 0, 'the deletion transactions are timed');
    // The first transaction took at most 20 rows; after it the hold stopped every statement for `big`.
    const left = await count(knex, 'survey_responses', { survey_id: big });
    assert.ok(left >= 30 && left < 55, `big keeps the responses not yet deleted (${left})`);
    assert.equal(await count(knex, 'surveys', { id: big }), 1);
    assert.equal(await count(knex, 'survey_progress', { survey_id: big }), 2);
    assert.equal(await count(knex, 'survey_legal_holds', { survey_id: big }), 2, 'its removed hold stays with it');
    assert.equal(await count(knex, 'surveys', { id: small }), 0);
    for (const table of ['survey_responses', 'survey_progress', 'survey_legal_holds']) {
      assert.equal(await count(knex, table, { survey_id: small }), 0, `${table} of the other survey deleted`);
    }
    const audits = await knex('audit_log').where({ action: 'survey.hard_deleted' }).select('subject_id', 'details');
    assert.deepEqual(audits.map((a: { subject_id: string }) => a.subject_id), [String(small)]);
    assert.deepEqual(JSON.parse(audits[0].details), { responses: 5, progress: 1, warnings: 0, removedHolds: 1, survey: 1 });
  });

  test('a survey with more responses than one transaction takes goes over several, counted in full', async () => {
    const { knex, dialect } = db();
    const id = await survey({ deleted_at: after_(-40 * DAY) });
    await addChildren(knex, dialect, id, 45, 3);
    const transactions: string[] = [];
    hooks.afterChildTransaction = async (table) => {
      transactions.push(table);
    };
    const r = await runJson(['--batch-size', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.summary.hardDeleted, 1);
    assert.deepEqual(r.summary.hardDeletedRows, { responses: 45, progress: 3, warnings: 0, removedHolds: 0 });
    // 10 rows per transaction at --batch-size 1: 45 responses need 5.
    assert.equal(transactions.filter((t) => t === 'survey_responses').length, 5);
    const auditRow = await knex('audit_log').where({ action: 'survey.hard_deleted', subject_id: String(id) }).first();
    assert.deepEqual(JSON.parse(auditRow.details), { responses: 45, progress: 3, warnings: 0, removedHolds: 0, survey: 1 });
  });

  test('a batch of more surveys than one multi-row INSERT takes (SQLite: 500) is audited in full', async () => {
    const { knex, dialect } = db();
    await insertMany(knex, 'surveys', Array.from({ length: 600 }, (_, i) => ({
      name: `s${i}`, owner_email: 'o@example.test', created_at: instant(dialect, after_(-90 * DAY)), deletion_date: instant(dialect, after_(-DAY)),
    })));
    const r = await runJson();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.summary.softDeleted, 600);
    assert.equal(await count(knex, 'audit_log', { action: 'survey.soft_deleted' }), 600);
  });

  test('a deletion_date with microseconds (written by another program) is warned once', async () => {
    const { knex, dialect } = db();
    const id = await survey({ deletion_date: after_(20 * DAY) });
    const micro = {
      postgres: "deletion_date + interval '500 microseconds'",
      mysql: 'DATE_ADD(deletion_date, INTERVAL 500 MICROSECOND)',
      sqlite: "'2026-06-21 02:00:00.000500'",
    }[dialect];
    await knex('surveys').where({ id }).update({ deletion_date: knex.raw(micro) });
    const first = await runJson();
    assert.equal(first.summary.warnings30, 1, first.stderr);
    const second = await runJson();
    assert.equal(second.summary.warningsSent, 0, 'not repeated');
    assert.equal(smtp.messages.length, 1);
    assert.equal(await count(knex, 'survey_deletion_warnings', { survey_id: id }), 1);
  });

  test('a 4xx answer is deferred (exit 1, retried next run); --limit caps the surveys handled', async () => {
    const { knex } = db();
    const a = await survey({ deletion_date: after_(20 * DAY), owner_email: 'later@example.test' });
    smtp.respondWith(451);
    const r = await runJson();
    assert.equal(r.code, 1, r.stderr);
    assert.equal((r.summary as unknown as { warningsDeferred: number }).warningsDeferred, 1);
    assert.equal(await count(knex, 'survey_deletion_warnings'), 0);
    smtp.respondWith(null);
    const retry = await runJson();
    assert.equal(retry.code, 0, retry.stderr);
    assert.equal(retry.summary.warnings30, 1);
    assert.equal(await count(knex, 'survey_deletion_warnings', { survey_id: a }), 1);

    for (let i = 0; i < 3; i += 1) await survey({ deletion_date: after_(-DAY) });
    const limited = await runJson(['--limit', '2']);
    assert.equal(limited.summary.softDeleted, 2);
    assert.equal((limited.summary as unknown as { limited: boolean }).limited, true);
    assert.match(limited.stderr, /Stopped at --limit/);
    const rest = await runJson();
    assert.equal(rest.summary.softDeleted, 1);
  });

  test('dry run: every table unchanged, no SMTP connection, the same counts as the real run', async () => {
    const { knex, dialect } = db();
    await survey({ deletion_date: after_(20 * DAY) });
    await survey({ deletion_date: after_(6 * DAY) });
    await survey({ deletion_date: after_(-DAY) });
    const gone = await survey({ deleted_at: after_(-31 * DAY) });
    await addChildren(knex, dialect, gone, 4);
    const held = await survey({ deletion_date: after_(-DAY) });
    await addHold(knex, dialect, held);
    const sum = await db().checksum();
    const connections = smtp.connections;
    const dry = await runJson(['--dry-run', '--verbose']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(await db().checksum(), sum, 'no table changed');
    assert.equal(smtp.connections, connections, 'no SMTP connection');
    assert.match(dry.stderr, /Would send 2 deletion warnings:/);
    assert.match(dry.stderr, /Would soft delete: 1 surveys/);
    const real = await runJson();
    const pick = (s: Summary) => [s.warningsSent, s.warnings30, s.warnings7, s.warnings1, s.softDeleted, s.hardDeleted, s.skippedLegalHold];
    assert.deepEqual(pick(dry.summary), pick(real.summary));
    assert.deepEqual(dry.summary.hardDeletedRows, real.summary.hardDeletedRows);
  });

  test('SMTP unreachable: exit 69, no warning recorded as sent, deletions still done', async () => {
    const { knex } = db();
    await survey({ deletion_date: after_(20 * DAY) });
    await survey({ deletion_date: after_(2 * DAY) });
    const due = await survey({ deletion_date: after_(-DAY) });
    const r = await runJson([], { EMAIL_HOST: '127.0.0.1', EMAIL_PORT: String(await closedPort()) });
    assert.equal(r.code, 69, r.stderr);
    assert.equal(r.summary.warningsSent, 0);
    assert.equal(r.summary.warningsNotSent, 2);
    assert.equal(await count(knex, 'survey_deletion_warnings'), 0);
    assert.equal(await count(knex, 'audit_log', { action: 'survey.deletion_warning_sent' }), 0);
    assert.ok(await deletedAt(knex, due), 'soft deletion is not delayed by mail');
    assert.match(r.stderr, /cannot be reached/);
  });

  test('no mail configured: exit 78 with the variables to set, deletions still done', async () => {
    const { knex } = db();
    await survey({ deletion_date: after_(3 * DAY) });
    const due = await survey({ deletion_date: after_(-DAY) });
    const r = await runJson([], {});
    assert.equal(r.code, 78, r.stderr);
    assert.equal(r.summary.warningsNotSent, 1);
    assert.equal(await count(knex, 'survey_deletion_warnings'), 0);
    assert.ok(await deletedAt(knex, due));
    assert.match(r.stderr, /EMAIL_HOST/);
    assert.doesNotMatch(r.stderr, /while closing/);
  });

  test('the deletions are done before any mail is attempted: a warning step that breaks cannot delay them', async () => {
    const { knex } = db();
    await survey({ deletion_date: after_(3 * DAY) });
    const due = await survey({ deletion_date: after_(-DAY) });
    const gone = await survey({ deleted_at: after_(-45 * DAY) });
    hooks.afterSelect = async (label) => {
      if (label === WARNINGS_LABEL) throw new Error('mail step broke');
    };
    const r = await run();
    assert.equal(r.code, 70, r.stderr);
    assert.ok(await deletedAt(knex, due));
    assert.equal(await count(knex, 'surveys', { id: gone }), 0);
    assert.match(r.stdout, /Soft deleted: 1 surveys\nHard deleted: 1 surveys/);
    assert.match(r.stdout, /Stopped early/);
  });

  test('a run stopped by --timeout after soft-deleting records in job_runs what it had done', async () => {
    const { knex } = db();
    const due = await survey({ deletion_date: after_(-DAY) });
    const gone = await survey({ deleted_at: after_(-45 * DAY) });
    // Hold the hard step past the time limit between its selection and its checkpoint.
    hooks.afterSelect = async (label) => {
      if (label === HARD_DELETE_LABEL) await sleep(1100);
    };
    const r = await run(['--timeout', '1s']);
    assert.equal(r.code, 75, r.stderr);
    assert.match(r.stderr, /time limit of 1s reached/);
    assert.ok(await deletedAt(knex, due));
    assert.equal(await count(knex, 'surveys', { id: gone }), 1, 'the hard deletion never started');
    const [row] = await runRows(knex, 'process-data-governance');
    assert.equal(row!.status, 'interrupted');
    assert.equal(row!.summary.stoppedBy, 'timeout');
    assert.equal(row!.summary.softDeleted, 1);
    assert.equal(row!.summary.hardDeleted, 0);
    assert.equal(row!.summary.itemsDone, 1);
    assert.equal(row!.summary.batchesDone, 1);
  });

  test('a 5xx answer: counted failed, exit 1, not recorded; a missing or invalid owner email is counted, not a crash', async () => {
    const { knex } = db();
    await survey({ deletion_date: after_(20 * DAY), owner_email: 'refused@example.test' });
    await survey({ deletion_date: after_(20 * DAY), owner_email: 'not-an-address' });
    await survey({ deletion_date: after_(20 * DAY), owner_email: '' });
    const ok = await survey({ deletion_date: after_(20 * DAY), owner_email: 'fine@example.test' });
    const due = await survey({ deletion_date: after_(-DAY) });
    smtp.setHook((c) => (c.recipient === 'refused@example.test' ? { code: 550 } : undefined));
    const r = await runJson();
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual([r.summary.warningsSent, r.summary.warningsFailed, r.summary.warningsInvalidEmail], [1, 1, 2]);
    assert.deepEqual(
      (await knex('survey_deletion_warnings').select('survey_id')).map((w: { survey_id: unknown }) => Number(w.survey_id)),
      [ok],
    );
    assert.ok(await deletedAt(knex, due));
  });

  test('a warning refused in an earlier run is not retried (dry run says so too) until the address is corrected', async () => {
    const { knex } = db();
    const id = await survey({ deletion_date: after_(20 * DAY), owner_email: 'typo@example.test' });
    smtp.respondWith(550);
    assert.equal((await runJson()).code, 1);
    smtp.respondWith(null);
    const type = (r: { summary: Summary }) => (r.summary as unknown as { warningsFailedEarlier: number }).warningsFailedEarlier;
    const dry = await runJson(['--dry-run']);
    const again = await runJson();
    assert.deepEqual([dry.code, type(dry), dry.summary.warningsSent], [0, 1, 0]);
    assert.deepEqual([again.code, type(again), again.summary.warningsSent], [0, 1, 0]);
    assert.equal(smtp.messages.length, 0);
    await knex('surveys').where({ id }).update({ owner_email: 'right@example.test' });
    const fixed = await runJson();
    assert.deepEqual([fixed.code, fixed.summary.warningsSent], [0, 1]);
    assert.deepEqual(smtp.messages[0]!.to, ['right@example.test']);
    assert.equal(await count(knex, 'survey_deletion_warnings', { survey_id: id }), 1);
  });

  test('human output of a fixed scenario, line by line in the shape of docs/reference/jobs.md', async () => {
    const { knex, dialect } = db();
    await survey({ deletion_date: after_(25 * DAY) });
    await survey({ deletion_date: after_(12 * DAY) });
    await survey({ deletion_date: after_(3 * DAY) });
    await survey({ deletion_date: after_(-HOUR) });
    for (const offset of [-DAY, 2 * DAY]) {
      const held = await survey({ deletion_date: after_(offset) });
      await addHold(knex, dialect, held);
    }
    const r = await run();
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.replace(/completed at 2026-06-01 02:00:\d\d UTC/, 'completed at 2026-06-01 02:00:00 UTC').split('\n');
    assert.deepEqual(lines, [
      'Starting data governance processing at 2026-06-01 02:00:00 UTC',
      '',
      '--- Deletion Warnings ---',
      'Sent 3 deletion warnings:',
      '  - 30-day warnings: 2',
      '  - 7-day warnings: 1',
      '  - 1-day warnings: 0',
      '',
      '--- Automatic Deletions ---',
      'Soft deleted: 1 surveys',
      'Hard deleted: 0 surveys',
      'Skipped (legal hold): 2 surveys',
      '',
      'Data governance processing completed at 2026-06-01 02:00:00 UTC',
      '',
    ]);
    assert.equal(r.stderr, '');
  });

  test('--verbose names each survey and why, without names or email addresses', async () => {
    await survey({ name: 'Private', owner_email: 'private@example.test', deletion_date: after_(3 * DAY) });
    const held = await survey({ deletion_date: after_(-DAY) });
    await addHold(db().knex, db().dialect, held);
    const r = await run(['--verbose']);
    assert.match(r.stdout, /survey \d+: 7-day warning \(deletion 2026-06-04 02:00:00 UTC, 3d 0h left\) sent to the owner/);
    assert.match(r.stdout, new RegExp(`survey ${held}: not soft deleted, active legal hold`));
    assert.doesNotMatch(r.stdout, /Private|private@/);
  });

  test('property: random surveys, holds and dates around now', async () => {
    const { knex, dialect } = db();
    const offsets = [
      -61 * DAY, -31 * DAY, -30 * DAY - SECOND, -30 * DAY, -30 * DAY + SECOND, -29 * DAY, -DAY, -SECOND, 0, SECOND, 10 * HOUR,
      DAY, DAY + SECOND, 5 * DAY, 7 * DAY, 7 * DAY + SECOND, 20 * DAY, 30 * DAY, 30 * DAY + SECOND, 31 * DAY,
    ];
    const surveyArb = fc.record({
      deletion: fc.option(fc.constantFrom(...offsets), { nil: null }),
      softDeleted: fc.option(fc.constantFrom(...offsets.filter((o) => o <= 0)), { nil: null, freq: 2 }),
      hold: fc.constantFrom('none', 'none', 'active', 'removed', 'both'),
      responses: fc.nat(3),
      progress: fc.nat(2),
      priorWarning: fc.option(fc.constantFrom(30, 7, 1), { nil: null, freq: 2 }),
      priorWarningSameDate: fc.boolean(),
    });
    const threshold = (left: number): 30 | 7 | 1 | null => (left <= 0 || left > 30 * DAY ? null : left <= DAY ? 1 : left <= 7 * DAY ? 7 : 30);

    await fc.assert(
      fc.asyncProperty(fc.array(surveyArb, { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 4 }), async (specs, batchSize) => {
        await db().reset();
        smtp.messages.length = 0;
        const rows: { id: number; spec: (typeof specs)[number]; active: boolean }[] = [];
        for (const spec of specs) {
          const id = await insertSurvey(knex, dialect, {
            owner_email: `o${rows.length}@example.test`,
            deletion_date: spec.deletion === null ? null : after_(spec.deletion),
            deleted_at: spec.softDeleted === null ? null : after_(spec.softDeleted),
          });
          if (spec.hold === 'active' || spec.hold === 'both') await addHold(knex, dialect, id);
          if (spec.hold === 'removed' || spec.hold === 'both') await addHold(knex, dialect, id, true);
          await addChildren(knex, dialect, id, spec.responses, spec.progress);
          if (spec.priorWarning !== null && spec.deletion !== null) {
            const announced = spec.priorWarningSameDate ? after_(spec.deletion) : after_(spec.deletion + 3 * DAY);
            await knex('survey_deletion_warnings').insert({ survey_id: id, days_before: spec.priorWarning, deletion_date: instant(dialect, announced), sent_at: instant(dialect, NOW) });
          }
          rows.push({ id, spec, active: spec.hold === 'active' || spec.hold === 'both' });
        }
        const snapshot = async (id: number) => ({
          survey: await knex('surveys').where({ id }).first('deleted_at', 'deletion_date'),
          responses: await count(knex, 'survey_responses', { survey_id: id }),
          progress: await count(knex, 'survey_progress', { survey_id: id }),
          holds: await count(knex, 'survey_legal_holds', { survey_id: id }),
          warnings: await count(knex, 'survey_deletion_warnings', { survey_id: id }),
        });
        const beforeState = new Map<number, Awaited<ReturnType<typeof snapshot>>>();
        for (const r of rows) beforeState.set(r.id, await snapshot(r.id));

        const result = await runJson(['--batch-size', String(batchSize)]);
        assert.equal(result.code, 0, result.stderr);
        const s = result.summary;

        let soft = 0;
        let hard = 0;
        let skipped = 0;
        const sent = { 30: 0, 7: 0, 1: 0 };
        for (const r of rows) {
          const was = beforeState.get(r.id)!;
          const now = await snapshot(r.id);
          const live = r.spec.softDeleted === null;
          const left = r.spec.deletion === null ? null : r.spec.deletion;
          const warnDays = live && left !== null ? threshold(left) : null;
          const alreadyWarned = warnDays !== null && r.spec.priorWarning === warnDays && r.spec.priorWarningSameDate;
          const softDue = live && left !== null && left <= 0;
          const hardDue = !live && r.spec.softDeleted! <= -30 * DAY;
          if (r.active) {
            assert.deepEqual(now, was, `held survey ${r.id} untouched`);
            if ((warnDays !== null && !alreadyWarned) || softDue || hardDue) skipped += 1;
            continue;
          }
          if (hardDue) {
            hard += 1;
            assert.equal(now.survey, undefined, `survey ${r.id} hard deleted`);
            assert.deepEqual([now.responses, now.progress, now.holds, now.warnings], [0, 0, 0, 0]);
            continue;
          }
          assert.ok(now.survey, `survey ${r.id} still there`);
          if (softDue) {
            soft += 1;
            assert.equal(fromDbInstant(now.survey.deleted_at)?.getTime(), NOW.getTime(), `survey ${r.id} soft deleted`);
          } else {
            assert.equal(String(fromDbInstant(now.survey.deleted_at)), String(fromDbInstant(was.survey.deleted_at)));
          }
          assert.deepEqual([now.responses, now.progress, now.holds], [was.responses, was.progress, was.holds]);
          const newWarnings = now.warnings - was.warnings;
          if (warnDays !== null && !alreadyWarned) {
            sent[warnDays] += 1;
            assert.equal(newWarnings, 1, `survey ${r.id}: one ${warnDays}-day warning`);
            const w = await knex('survey_deletion_warnings').where({ survey_id: r.id }).orderBy('id', 'desc').first();
            assert.equal(Number(w.days_before), warnDays);
            assert.equal(fromDbInstant(w.deletion_date)!.getTime(), after_(left!).getTime());
          } else {
            assert.equal(newWarnings, 0, `survey ${r.id}: no warning`);
          }
        }
        assert.deepEqual(
          [s.softDeleted, s.hardDeleted, s.skippedLegalHold, s.warnings30, s.warnings7, s.warnings1],
          [soft, hard, skipped, sent[30], sent[7], sent[1]],
        );
        assert.equal(s.warningsSent, smtp.messages.length);
        assert.equal(await count(knex, 'audit_log', { action: 'survey.soft_deleted' }), soft);
        assert.equal(await count(knex, 'audit_log', { action: 'survey.hard_deleted' }), hard);
        assert.equal(await count(knex, 'audit_log', { action: 'survey.deletion_warning_sent' }), s.warningsSent);
      }),
      { numRuns: 200 },
    );
  });
});
