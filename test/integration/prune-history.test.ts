/** prune-history on every database: old runs, old emails' personal data, the audit archive, dry run. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeEach, test } from 'node:test';
import { toDbInstant } from '../../src/db/time.js';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { DAY, insertMany } from '../helpers/fixtures.js';
import { insertRun } from '../helpers/runs.js';
import { useSmtpServer } from '../helpers/smtp.js';

const daysAgo = (n: number) => new Date(Date.now() - n * DAY);

forEachDatabase('prune-history', (db) => {
  const smtp = useSmtpServer();
  beforeEach(async () => {
    await db().reset();
  });
  const env = (extra: Record<string, string> = {}) => ({ DATABASE_URL: db().url, SITE_URL: 'https://cases.example.org', ...smtp().env(), ...extra });
  const prune = async (args: string[] = [], extra: Record<string, string> = {}) => {
    const res = await runCli(['prune-history', '--json', ...args], env(extra));
    return { ...res, json: res.stdout ? JSON.parse(res.stdout) : undefined };
  };
  const runIds = async (job: string) => (await db().knex('job_runs').where({ job }).orderBy('id').select('id')).map((r) => Number(r.id));

  test("deletes runs finished past the cut-off, keeping each job's newest 20 and every running row", async () => {
    const { knex, dialect } = db();
    const running = await insertRun(knex, dialect, { job: 'release-scheduled-cases', startedAt: daysAgo(300), status: 'running' });
    const old: number[] = [];
    for (let i = 0; i < 30; i++) {
      const started = daysAgo(130 - i);
      old.push(await insertRun(knex, dialect, { job: 'release-scheduled-cases', startedAt: started, finishedAt: new Date(started.getTime() + 1000), status: 'succeeded', exitCode: 0 }));
    }
    for (let i = 0; i < 5; i++) {
      await insertRun(knex, dialect, { job: 'weekly-paid-update', startedAt: daysAgo(200 + i), finishedAt: daysAgo(200 + i), status: 'failed', exitCode: 1 });
    }
    const recent = await insertRun(knex, dialect, { job: 'cleanup-survey-progress', startedAt: daysAgo(10), finishedAt: daysAgo(10), status: 'succeeded' });
    const res = await prune(['--batch-size', '3']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.json.summary.runsDeleted, 10);
    assert.deepEqual(await runIds('release-scheduled-cases'), [running, ...old.slice(10)]);
    assert.equal((await runIds('weekly-paid-update')).length, 5);
    assert.deepEqual(await runIds('cleanup-survey-progress'), [recent]);
    const audits = await knex('audit_log').where({ action: 'job_runs.pruned' });
    assert.equal(audits.reduce((sum, a) => sum + JSON.parse(a.details).deleted, 0), 10);
    // Nothing further is prunable: the newest 20 stay however old they get.
    const again = await prune(['--runs-days', '1']);
    assert.equal(again.json.summary.runsDeleted, 0);
  });

  test('sent and failed messages past the cut-off lose their personal data; a rerun of the job that made them sends nothing', async () => {
    const { knex, dialect } = db();
    const insertCase = async (reference: string) => {
      const [row] = await knex('cases')
        .insert({ reference, title: `Title of ${reference}`, status: 10, contact_email: `${reference.toLowerCase()}@example.test`, scheduled_email_date: '2025-11-23' })
        .returning('id');
      return typeof row === 'object' ? Number((row as { id: number }).id) : Number(row);
    };
    const okCase = await insertCase('C-OK');
    const badCase = await insertCase('C-BAD');
    smtp().setHook(({ stage, recipient }) => (stage === 'rcpt' && recipient === 'c-bad@example.test' ? { code: 550 } : undefined));
    const send = () => runCli(['send-scheduled-emails', '--now', '2025-11-23T02:05:00Z'], env());
    const first = await send();
    assert.equal(first.code, 1, first.stdout + first.stderr);
    assert.equal(smtp().messages.length, 1);
    smtp().setHook(null);
    const old = toDbInstant(dialect, daysAgo(40));
    await knex('email_outbox').update({ updated_at: old, created_at: old });
    await knex('email_outbox').whereNotNull('sent_at').update({ sent_at: old });
    await knex('email_outbox').insert({
      dedupe_key: 'other:pending', kind: 'other', to_address: 'wait@example.test', subject: 'Waiting', body_text: 'text', status: 'pending', attempts: 0, created_at: old, updated_at: old,
    });
    const before = await knex('email_outbox').orderBy('id');

    const res = await prune();
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.json.summary.messagesRedacted, 2);
    const afterRows = await knex('email_outbox').orderBy('id');
    for (const [i, row] of afterRows.entries()) {
      const was = before[i]!;
      for (const column of ['dedupe_key', 'kind', 'status', 'message_id', 'run_id', 'created_at', 'updated_at', 'sent_at']) {
        assert.deepEqual(row[column], was[column], column);
      }
      if (row.status === 'pending') {
        assert.deepEqual(row, was);
        continue;
      }
      assert.deepEqual([row.to_address, row.subject, row.body_text, row.body_html, row.last_error], ['[pruned]', '[pruned]', '[pruned]', null, null]);
    }
    await knex('email_outbox').where({ status: 'pending' }).del();

    // The case whose message was sent is marked unsent again (a restored backup, say), and the
    // failed one is still due: neither may be sent again.
    await knex('cases').where({ id: okCase }).update({ actual_email_sent_date: null });
    const rerun = await send();
    assert.equal(smtp().messages.length, 1, rerun.stdout + rerun.stderr);
    assert.ok((await knex('cases').where({ id: badCase }).first()).actual_email_sent_date === null);
    assert.equal((await knex('email_outbox').where({ to_address: '[pruned]' })).length, 2);
  });

  test('--audit-days archives older audit rows to a gzip JSON Lines file, then deletes exactly those', async () => {
    const { knex, dialect } = db();
    const dir = mkdtempSync(join(tmpdir(), 'ontime-archive-'));
    const row = (i: number, age: number) => ({
      at: toDbInstant(dialect, daysAgo(age)), actor: 'job:test', action: 'case.released', subject_type: 'case', subject_id: String(i), details: JSON.stringify({ i }), run_id: null,
    });
    await insertMany(knex, 'audit_log', [...Array.from({ length: 50 }, (_, i) => row(i, 400 - i)), ...Array.from({ length: 5 }, (_, i) => row(100 + i, 10))]);
    const recentSubjects = ['100', '101', '102', '103', '104'];
    const oldIds = (await knex('audit_log').whereNotIn('subject_id', recentSubjects).select('id')).map((r) => Number(r.id));

    const refused = await prune(['--audit-days', '30']);
    assert.equal(refused.code, 78);
    assert.match(refused.stderr, /ONTIME_ARCHIVE_DIR/);
    assert.equal(await knex('job_runs').count({ n: '*' }).first().then((r) => Number(r!.n)), 0);

    const res = await prune(['--audit-days', '30', '--batch-size', '7'], { ONTIME_ARCHIVE_DIR: dir });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.json.summary.auditArchived, 50);
    assert.equal(res.json.summary.auditDeleted, 50);
    const files = readdirSync(dir);
    assert.equal(files.length, 1);
    assert.match(files[0]!, /^audit_log-\d{8}T\d{6}Z-\d{8}T\d{6}Z-id\d+-\d+\.jsonl\.gz$/);
    assert.equal(statSync(join(dir, files[0]!)).mode & 0o777, 0o600);
    const lines = gunzipSync(readFileSync(join(dir, files[0]!))).toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 50);
    assert.deepEqual(lines.map((l) => l.id).sort((a, b) => a - b), oldIds.sort((a, b) => a - b));
    assert.deepEqual(JSON.parse(lines[3].details), { i: 3 });
    const left = await knex('audit_log').where({ action: 'case.released' }).select('subject_id');
    assert.deepEqual(left.map((r) => r.subject_id).sort(), recentSubjects);
    assert.ok((await knex('audit_log').where({ action: 'audit_log.archived' })).length >= 1);
  });

  test('a dry run reports the same counts and writes nothing: no row changed, no archive file', async () => {
    const { knex, dialect } = db();
    const dir = join(mkdtempSync(join(tmpdir(), 'ontime-archive-')), 'archive');
    for (let i = 0; i < 25; i++) await insertRun(knex, dialect, { job: 'release-scheduled-cases', startedAt: daysAgo(200 - i), finishedAt: daysAgo(200 - i), status: 'succeeded' });
    const old = toDbInstant(dialect, daysAgo(60));
    await knex('email_outbox').insert({ dedupe_key: 'x:1', kind: 'x', to_address: 'a@example.test', subject: 's', body_text: 't', status: 'sent', attempts: 1, created_at: old, updated_at: old, sent_at: old });
    await knex('audit_log').insert({ at: old, actor: 'job:test', action: 'case.released', subject_type: 'case', subject_id: '1' });
    const checksum = await db().checksum();
    const dry = await prune(['--dry-run', '--audit-days', '30', '--verbose'], { ONTIME_ARCHIVE_DIR: dir });
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(await db().checksum(), checksum);
    assert.equal(existsSync(dir), false);
    assert.deepEqual([dry.json.summary.runsDeleted, dry.json.summary.messagesRedacted, dry.json.summary.auditArchived], [5, 1, 1]);
    const real = await prune(['--audit-days', '30'], { ONTIME_ARCHIVE_DIR: dir });
    assert.deepEqual([real.json.summary.runsDeleted, real.json.summary.messagesRedacted, real.json.summary.auditArchived], [5, 1, 1]);
  });
});
