/**
 * Completion notifications against a real in-process SMTP server: ONTIME_NOTIFY=always mails
 * after a successful run (what it did, the status page link), `ontime notify <job> never`
 * silences one job (failure alerts too), the default stays failure-only, a dry run mails nothing.
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { DAY, insertMany, insertSurvey, progressRow } from '../helpers/fixtures.js';
import { useSmtpServer, type TestSmtpServer } from '../helpers/smtp.js';

const JOB = 'cleanup-survey-progress';
const OPS = 'ops@example.test';

forEachDatabase('completion notifications', (db) => {
  const server = useSmtpServer();
  let smtp: TestSmtpServer;
  beforeEach(async () => {
    await db().reset();
    smtp = server();
  });
  const env = (extra: Record<string, string> = {}) => ({ DATABASE_URL: db().url, ...smtp.env(), ONTIME_ALERT_EMAILS: OPS, ...extra });

  async function seedExpired(n: number): Promise<void> {
    const { knex, dialect } = db();
    const survey = await insertSurvey(knex, dialect);
    const expired = new Date(Date.now() - 2 * DAY);
    await insertMany(knex, 'survey_progress', Array.from({ length: n }, (_, i) => progressRow(dialect, { survey_id: survey, session_key: `s${i}`, expires_at: expired })));
  }

  test('ONTIME_NOTIFY=always: a successful run mails what it did, with the status page link', async () => {
    await seedExpired(2);
    const r = await runCli([JOB], env({ ONTIME_NOTIFY: 'always', ONTIME_STATUS_URL: 'https://ops.example.test/ontime/status.html' }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(smtp.messages.length, 1);
    const [msg] = smtp.messages;
    assert.deepEqual(msg!.to, [OPS]);
    assert.match(msg!.subject ?? '', new RegExp(`^\\[ontime\\] ${JOB} succeeded on .* \\(exit 0\\)$`));
    assert.match(msg!.text, /^ {2}deleted: 2$/m);
    assert.match(msg!.text, /^ {2}anonymous: 2$/m);
    assert.match(msg!.text, /Status page: https:\/\/ops\.example\.test\/ontime\/status\.html/);
    const run = await db().knex('job_runs').first('id');
    const row = await db().knex('email_outbox').where({ kind: 'job-completion' }).first();
    assert.equal(row.dedupe_key, `job-completion:${run.id}:${OPS}`);
    assert.equal(row.status, 'sent');

    // SITE_URL and the page's file name make the link when ONTIME_STATUS_URL is not set.
    await runCli([JOB], env({ ONTIME_NOTIFY: 'always', SITE_URL: 'https://app.example.test/', ONTIME_STATUS_HTML: '/var/www/ontime/status.html' }));
    assert.equal(smtp.messages.length, 2);
    assert.match(smtp.messages[1]!.text, /Status page: https:\/\/app\.example\.test\/status\.html/);
    assert.match(smtp.messages[1]!.text, /^ {2}deleted: 0$/m);
  });

  test('the default (failure) mails nothing after a success; a dry run mails nothing even with always', async () => {
    await seedExpired(1);
    const connections = smtp.connections;
    const dry = await runCli([JOB, '--dry-run'], env({ ONTIME_NOTIFY: 'always' }));
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(smtp.connections, connections);
    const real = await runCli([JOB], env());
    assert.equal(real.code, 0, real.stderr);
    assert.equal(smtp.messages.length, 0);
    // An unknown value is a warning and the default applies.
    const typo = await runCli([JOB], env({ ONTIME_NOTIFY: 'allways' }));
    assert.equal(typo.code, 0);
    assert.match(typo.stderr, /ONTIME_NOTIFY is "allways", not one of failure\|always\|never; using failure/);
    assert.equal(smtp.messages.length, 0);
  });

  /** Each batch waits past the 1 s time limit, so the run is interrupted (exit 75). */
  const slowBatches = { beforeCheckpoint: () => new Promise<void>((resolve) => setTimeout(resolve, 1100)) };

  test('job.<name>.notify never silences one job, failures included; default hands it back to ONTIME_NOTIFY', async () => {
    const set = await runCli(['notify', JOB, 'never'], env({ ONTIME_NOTIFY: 'always' }));
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, new RegExp(`${JOB}: notify never \\(system setting job\\.${JOB}\\.notify\\)`));
    await seedExpired(3);
    // Interrupted by its time limit (exit 75): a failure alert, were the job not silenced.
    const failed = await runCli([JOB, '--batch-size', '1', '--timeout', '1s'], env({ ONTIME_NOTIFY: 'always' }), { hooks: slowBatches });
    assert.equal(failed.code, 75, failed.stderr);
    assert.equal(smtp.messages.length, 0);
    // Another job still mails.
    const other = await runCli(['release-scheduled-cases'], env({ ONTIME_NOTIFY: 'always' }));
    assert.equal(other.code, 0, other.stderr);
    assert.equal(smtp.messages.length, 1);
    assert.match(smtp.messages[0]!.subject ?? '', /release-scheduled-cases succeeded/);

    const reset = await runCli(['notify', JOB, 'default', '--json'], env({ ONTIME_NOTIFY: 'always' }));
    assert.deepEqual(JSON.parse(reset.stdout), { job: JOB, setting: `job.${JOB}.notify`, policy: 'always', from: 'ONTIME_NOTIFY', alertEmails: 1 });
    assert.equal(await db().knex('system_settings').where({ key: `job.${JOB}.notify` }).first(), undefined);
    const failedAgain = await runCli([JOB, '--batch-size', '1', '--timeout', '1s'], env(), { hooks: slowBatches });
    assert.equal(failedAgain.code, 75);
    assert.equal(smtp.messages.length, 2);
    assert.match(smtp.messages[1]!.subject ?? '', new RegExp(`${JOB} was interrupted`));

    assert.equal((await runCli(['notify', JOB, 'sometimes'], env())).code, 64);
    assert.equal((await runCli(['notify', 'no-such-job', 'never'], env())).code, 64);
  });
});
