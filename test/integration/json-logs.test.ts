/**
 * ONTIME_LOG_FORMAT=json / --log-format json: every line of a real run, a failed run and a dry
 * run is one JSON object with ts, level, job; no password and no recipient address in any of them.
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { runCli, type CliResult } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { onlyEnable } from '../helpers/runs.js';
import { closedPort, useSmtpServer } from '../helpers/smtp.js';

const NOW = '2025-11-23T02:05:00Z';
const PASSWORD = 'Smtp-Pa55word-9f3k';
const RECIPIENTS = ['grace.hopper@example.test', 'alan.turing@example.test'];

/** Every line of both streams, parsed; fails the test on a line that is not a JSON object. */
function records(res: CliResult): Array<Record<string, unknown>> {
  const lines = `${res.stdout}${res.stderr}`.split('\n').filter((l) => l !== '');
  return lines.map((line) => {
    let parsed: unknown;
    assert.doesNotThrow(() => (parsed = JSON.parse(line)), `not JSON: ${line}`);
    assert.equal(typeof parsed, 'object', line);
    return parsed as Record<string, unknown>;
  });
}

function assertCleanRecords(res: CliResult, job: string): Array<Record<string, unknown>> {
  const all = records(res);
  assert.ok(all.length >= 3, `too few lines: ${res.stdout}${res.stderr}`);
  for (const r of all) {
    assert.match(String(r.ts), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(['debug', 'info', 'warn', 'error'].includes(String(r.level)), String(r.level));
    assert.equal(r.job, job);
    assert.equal(typeof r.host, 'string');
    assert.equal(typeof r.msg, 'string');
  }
  const text = `${res.stdout}${res.stderr}`;
  assert.ok(!text.includes(PASSWORD), 'the SMTP password leaked');
  for (const address of RECIPIENTS) assert.ok(!text.includes(address), `${address} leaked`);
  return all;
}

forEachDatabase('JSON log format', (db) => {
  const smtp = useSmtpServer();
  beforeEach(async () => {
    await db().reset();
    for (const [i, address] of RECIPIENTS.entries()) {
      await db().knex('cases').insert({
        reference: `C-${i}`, title: `Case ${i}`, status: 10, contact_name: 'Someone', contact_email: address,
        scheduled_email_date: '2025-11-23',
      });
    }
  });
  const env = (extra: Record<string, string> = {}) => ({
    DATABASE_URL: db().url,
    SITE_URL: 'https://cases.example.org',
    ONTIME_LOG_FORMAT: 'json',
    ...smtp().env(),
    EMAIL_HOST_USER: 'mailer',
    EMAIL_HOST_PASSWORD: PASSWORD,
    // The test SMTP server has no TLS: a password goes to it only when allowed in clear.
    EMAIL_ALLOW_PLAINTEXT_AUTH: 'true',
    ...extra,
  });
  const run = (args: string[], extra: Record<string, string> = {}) =>
    runCli(['send-scheduled-emails', '--now', NOW, '--verbose', ...args], env(extra));

  test('a real run: report lines and the closing record with run id, exit code and counts', async () => {
    const res = await run([]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(smtp().messages.length, 2);
    const all = assertCleanRecords(res, 'send-scheduled-emails');
    const runId = Number((await db().knex('job_runs').first('id')).id);
    assert.ok(all.every((r) => r.runId === null || r.runId === runId));
    const end = all.find((r) => r.status !== undefined);
    assert.ok(end, 'no closing record');
    assert.equal(end.runId, runId);
    assert.equal(end.level, 'info');
    assert.equal(end.exitCode, 0);
    assert.equal(end.batchSize, 'auto');
    assert.equal(typeof end.durationMs, 'number');
    assert.equal((end.items as Record<string, number>).sent, 2);
    // The addresses are masked to their domain, not dropped: the log still says where mail went.
    assert.ok(`${res.stdout}${res.stderr}`.includes('***@example.test'));
  });

  test('a failed run (SMTP unreachable): the error record carries the exit code and hint', async () => {
    const res = await run([], { EMAIL_PORT: String(await closedPort()) });
    assert.equal(res.code, 69, res.stderr);
    const all = assertCleanRecords(res, 'send-scheduled-emails');
    const errors = all.filter((r) => r.level === 'error');
    assert.ok(errors.length > 0, res.stderr);
    const end = all.find((r) => r.status !== undefined)!;
    assert.equal(end.exitCode, 69);
    assert.equal(end.level, 'error');
  });

  test('a dry run, and --json: the summary stays one object on stdout, on one line', async () => {
    const dry = await run(['--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.ok(assertCleanRecords(dry, 'send-scheduled-emails').every((r) => r.runId === null));
    assert.equal(smtp().messages.length, 0);
    const json = await runCli(['--log-format', 'json', 'send-scheduled-emails', '--now', NOW, '--dry-run', '--json'], { ...env(), ONTIME_LOG_FORMAT: '' });
    assert.equal(json.code, 0, json.stderr);
    const stdoutLines = json.stdout.trim().split('\n');
    assert.equal(stdoutLines.length, 1);
    assert.equal(JSON.parse(stdoutLines[0]!).job, 'send-scheduled-emails');
    assertCleanRecords({ ...json, stdout: '' }, 'send-scheduled-emails');
  });

  test('human output stays the default, and a bad value is a configuration error', async () => {
    const human = await run(['--dry-run'], { ONTIME_LOG_FORMAT: '' });
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^\[dry run\] Starting scheduled email sending/);
    const bad = await run(['--dry-run'], { ONTIME_LOG_FORMAT: 'xml' });
    assert.equal(bad.code, 78);
    assert.match(bad.stderr, /ONTIME_LOG_FORMAT must be "human" or "json"/);
  });

  test('run-due passes the format to the jobs it starts and their records through unprefixed', async () => {
    await onlyEnable(db().knex, ['send-scheduled-emails']);
    const res = await runCli(['--log-format', 'json', 'run-due', '--now', '2025-11-23T02:05:30Z'], { ...env(), ONTIME_LOG_FORMAT: '' });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(smtp().messages.length, 2);
    const all = records(res);
    assert.ok(all.some((r) => r.job === null && String(r.msg).startsWith('run-due at')));
    const fromJob = all.filter((r) => r.job === 'send-scheduled-emails');
    assert.ok(fromJob.some((r) => r.status === 'succeeded' && typeof r.runId === 'number'), JSON.stringify(fromJob));
    const text = `${res.stdout}${res.stderr}`;
    assert.ok(!text.includes(PASSWORD) && !RECIPIENTS.some((a) => text.includes(a)));
  });
});
