/**
 * weekly-report against a real in-process SMTP server: the numbers in the mail equal counts
 * computed here from the seeded job_runs, audit_log and outbox rows of the week; a second run in
 * the same week sends nothing; no ONTIME_REPORT_EMAILS prints and sends nothing; the week's
 * boundaries are Monday 00:00 in the zone across a DST change.
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import type { Knex } from 'knex';
import type { Dialect } from '../../src/config.js';
import { fromDbInstant, toDbInstant } from '../../src/db/time.js';
import { formatDuration } from '../../src/output.js';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { insertRun, onlyEnable } from '../helpers/runs.js';
import { useSmtpServer } from '../helpers/smtp.js';

const JOB = 'cleanup-survey-progress'; // 0 3 * * *: grace 1 h, catch-up window 24 h
const WEEK_START = new Date('2026-11-16T00:00:00Z'); // Monday of 2026-W47
const WEEK_END = new Date('2026-11-23T00:00:00Z');
const REPORT_AT = '2026-11-23T07:00:00Z';
const BOSS = 'boss@example.test';
const t = (iso: string) => new Date(iso);
const S = 1000;

async function audit(knex: Knex, dialect: Dialect, at: Date, action: string, details: Record<string, unknown>, subject: number | null = 1) {
  await knex('audit_log').insert({ at: toDbInstant(dialect, at), actor: 'job:process-data-governance', action, subject_type: 'survey', subject_id: subject === null ? null : String(subject), details: JSON.stringify(details) });
}

async function outbox(knex: Knex, dialect: Dialect, key: string, status: string, at: Date) {
  const when = toDbInstant(dialect, at);
  await knex('email_outbox').insert({ dedupe_key: key, kind: 'case-notification', to_address: 'x@example.test', subject: 's', body_text: 't', status, attempts: 1, created_at: when, updated_at: when, sent_at: status === 'sent' ? when : null });
}

forEachDatabase('weekly-report', (db) => {
  const smtp = useSmtpServer();
  const env = (extra: Record<string, string> = {}) => ({ DATABASE_URL: db().url, ...smtp().env(), ...extra });

  beforeEach(async () => {
    const { knex } = db();
    await db().reset();
    // ontime was set up long before the weeks under test, so their empty slots count as missed.
    await knex('knex_migrations').update({ migration_time: toDbInstant(db().dialect, t('2026-01-01T00:00:00Z')) });
    await onlyEnable(knex, [JOB, 'weekly-report']);
  });

  async function seedWeek(): Promise<void> {
    const { knex, dialect } = db();
    const run = (startedAt: string, seconds: number, status: string, extra: Record<string, unknown> = {}) =>
      insertRun(knex, dialect, { job: JOB, startedAt: t(startedAt), finishedAt: new Date(t(startedAt).getTime() + seconds * S), status, exitCode: status === 'succeeded' ? 0 : 1, ...extra });
    await run('2026-11-16T03:00:05Z', 4, 'succeeded', { summary: { deleted: 3 } });
    await run('2026-11-17T03:00:05Z', 2, 'failed', { exitCode: 70, error: 'boom' });
    await run('2026-11-18T04:30:00Z', 10, 'succeeded', { summary: { deleted: 5 } }); // 90 min after its slot: late
    await run('2026-11-19T03:00:01Z', 0, 'skipped', { summary: { reason: 'lock held', holder: 'h:1' } });
    await run('2026-11-20T03:00:05Z', 6, 'interrupted', { summary: { itemsDone: 2 } });
    // 21 and 22 November: no run at all (missed). Outside the week: not counted.
    await run('2026-11-15T23:59:59Z', 1, 'succeeded', { summary: { deleted: 100 } });
    await insertRun(knex, dialect, { job: 'release-scheduled-cases', startedAt: WEEK_END, finishedAt: new Date(WEEK_END.getTime() + S), status: 'succeeded', exitCode: 0 });

    await audit(knex, dialect, t('2026-11-16T02:00:00Z'), 'survey.deletion_warning_sent', { daysBefore: 30 });
    await audit(knex, dialect, t('2026-11-17T02:00:00Z'), 'survey.deletion_warning_sent', { daysBefore: 30 });
    await audit(knex, dialect, t('2026-11-18T02:00:00Z'), 'survey.deletion_warning_sent', { daysBefore: 7 });
    await audit(knex, dialect, t('2026-11-19T02:00:00Z'), 'survey.soft_deleted', { deletionDate: '2026-11-19T00:00:00Z' });
    await audit(knex, dialect, t('2026-11-20T02:00:00Z'), 'survey.hard_deleted', { responses: 4, progress: 1, warnings: 2, removedHolds: 0, survey: 1 });
    await audit(knex, dialect, t('2026-11-21T02:00:00Z'), 'survey.legal_hold_skipped', { surveys: 2 }, null);
    await audit(knex, dialect, WEEK_END, 'survey.soft_deleted', { deletionDate: '2026-11-23T00:00:00Z' }); // next week

    await outbox(knex, dialect, 'a', 'sent', t('2026-11-16T05:05:00Z'));
    await outbox(knex, dialect, 'b', 'sent', t('2026-11-17T05:05:00Z'));
    await outbox(knex, dialect, 'c', 'failed', t('2026-11-18T05:05:00Z'));
    await outbox(knex, dialect, 'd', 'sent', t('2026-11-24T05:05:00Z')); // next week
  }

  /** The counts a reader would make from the rows: runs of the week by status, items, durations. */
  async function expectedRow(): Promise<string[]> {
    const rows = (await db().knex('job_runs').where({ job: JOB })).map((r) => ({
      status: String(r.status), started: fromDbInstant(r.started_at)!, finished: fromDbInstant(r.finished_at)!, summary: JSON.parse(r.summary),
    }));
    const week = rows.filter((r) => r.started >= WEEK_START && r.started < WEEK_END);
    const by = (s: string) => String(week.filter((r) => r.status === s).length);
    const items = week.reduce((n, r) => n + (r.summary.deleted ?? r.summary.itemsDone ?? 0), 0);
    const durations = week.filter((r) => r.status !== 'skipped').map((r) => r.finished.getTime() - r.started.getTime()).sort((a, b) => a - b);
    const mid = durations.length / 2;
    const median = durations.length % 2 ? durations[Math.floor(mid)]! : (durations[mid - 1]! + durations[mid]!) / 2;
    const statuses = ['succeeded', 'partial', 'failed', 'skipped', 'interrupted', 'abandoned'];
    // Late: the 18th (started 90 min after 03:00). Missed: the 21st and the 22nd.
    return [JOB, String(week.length), ...statuses.map(by), String(items), formatDuration(median), formatDuration(durations.at(-1)!), '1', '2'];
  }

  const tableRow = (text: string, job: string) => text.split('\n').find((l) => l.startsWith(`${job} `))!.trim().split(/\s{2,}/);

  test('the mail holds the week\'s numbers; a second run in the same week sends nothing', async () => {
    await seedWeek();
    const r = await runCli(['weekly-report', '--now', REPORT_AT, '--json'], env({ ONTIME_REPORT_EMAILS: BOSS }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(smtp().messages.length, 1);
    const [mail] = smtp().messages;
    assert.deepEqual(mail!.to, [BOSS]);
    // Missed: the cleanup's two, and the weekly report's own slot of Monday the 16th.
    assert.match(mail!.subject ?? '', /^\[ontime\] Weekly report 2026-W47: 1 failed or partial, 3 missed$/);
    assert.deepEqual(tableRow(mail!.text, 'weekly-report').slice(-2), ['0', '1']);
    assert.match(mail!.raw, /Content-Type: text\/html/);
    assert.deepEqual(tableRow(mail!.text, JOB), await expectedRow());
    assert.match(mail!.text, /Deletion warnings sent: 3 \(30-day 2, 7-day 1, 1-day 0\)/);
    assert.match(mail!.text, /Surveys soft-deleted: 1\r?\n/);
    assert.match(mail!.text, /Surveys hard-deleted: 1 \(responses 4, progress rows 1\)/);
    assert.match(mail!.text, /Skipped for a legal hold: 2/);
    assert.match(mail!.text, /Messages sent: 2\r?\n\s*Messages failed: 1/);
    const row = await db().knex('email_outbox').where({ kind: 'weekly-report' }).first();
    assert.equal(row.dedupe_key, 'weekly-report:2026-W47');
    assert.equal(row.status, 'sent');
    assert.equal(JSON.parse(r.stdout).summary.reportsSent, 1);

    const again = await runCli(['weekly-report', '--now', '2026-11-23T09:00:00Z', '--json'], env({ ONTIME_REPORT_EMAILS: BOSS }));
    assert.equal(again.code, 0, again.stderr);
    assert.equal(smtp().messages.length, 1);
    assert.deepEqual(JSON.parse(again.stdout).summary, { week: '2026-W47', recipients: 1, reportsSent: 0, alreadySent: 1, notSent: 0 });
  });

  test('without ONTIME_REPORT_EMAILS it prints the report, says how to configure it, sends nothing, exits 0; --dry-run prints', async () => {
    await seedWeek();
    const r = await runCli(['weekly-report', '--now', REPORT_AT], env());
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(tableRow(r.stdout, JOB), await expectedRow());
    assert.match(r.stdout, /Not mailed: ONTIME_REPORT_EMAILS is not set/);
    const dry = await runCli(['weekly-report', '--now', REPORT_AT, '--dry-run'], env({ ONTIME_REPORT_EMAILS: BOSS }));
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /Dry run: would mail this report to boss@example.test; nothing was sent/);
    assert.equal(smtp().messages.length, 0);
    assert.equal(await db().knex('email_outbox').where({ kind: 'weekly-report' }).first(), undefined);
  });

  test('the week is Monday 00:00 to Monday 00:00 in the zone, across the end of summer time', async () => {
    const { knex, dialect } = db();
    // Europe/Berlin, 2026-W43: Monday 19 October 00:00 CEST (22:00 UTC the day before) to Monday
    // 26 October 00:00 CET (23:00 UTC): 169 hours, summer time ends on Sunday the 25th.
    for (const at of ['2026-10-18T21:59:59Z', '2026-10-18T22:00:00Z', '2026-10-25T22:59:59Z', '2026-10-25T23:00:00Z']) {
      await insertRun(knex, dialect, { job: 'release-scheduled-cases', startedAt: t(at), finishedAt: new Date(t(at).getTime() + S), status: 'succeeded', exitCode: 0 });
    }
    const r = await runCli(['weekly-report', '--now', '2026-10-26T06:00:00Z'], env({ ONTIME_TIMEZONE: 'Europe/Berlin' }));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ontime weekly report 2026-W43: 2026-10-19 00:00:00 (CEST|GMT\+2) to 2026-10-26 00:00:00 (CET|GMT\+1) \(Europe\/Berlin\)/);
    assert.equal(tableRow(r.stdout, 'release-scheduled-cases')[1], '2');
  });
});
