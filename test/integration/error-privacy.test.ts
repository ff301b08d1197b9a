/**
 * Errors never carry bound values: a failing insert of a message full of personal data must leave
 * none of it in job_runs, in the run's output or in the failure alert; what is kept is the
 * database's code and message (the refused row listed in the summary's failedRows). Also the two driver errors without a code that are classified.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import type { Knex } from 'knex';
import type { Dialect } from '../../src/config.js';
import { classifyDatabaseError, ExitCode } from '../../src/errors.js';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp.js';

const PERSONAL = ['ada.patient@example.test', 'Ada Secretname', 'Confidential diagnosis 4711'];

/** A trigger that refuses outbox rows addressed to a patient: the insert fails with bound values in it. */
async function plantFailingInsert(knex: Knex, dialect: Dialect): Promise<void> {
  if (dialect === 'sqlite') {
    await knex.raw(`CREATE TRIGGER planted_failure BEFORE INSERT ON email_outbox WHEN NEW.to_address LIKE '%patient%'
      BEGIN SELECT RAISE(ABORT, 'planted failure'); END`);
  } else if (dialect === 'postgres') {
    await knex.raw(`CREATE FUNCTION planted_failure() RETURNS trigger AS $$ BEGIN
      IF NEW.to_address LIKE '%patient%' THEN RAISE EXCEPTION 'planted failure'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
    await knex.raw('CREATE TRIGGER planted_failure BEFORE INSERT ON email_outbox FOR EACH ROW EXECUTE FUNCTION planted_failure()');
  } else {
    await knex.raw(`CREATE TRIGGER planted_failure BEFORE INSERT ON email_outbox FOR EACH ROW BEGIN
      IF NEW.to_address LIKE '%patient%' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'planted failure'; END IF; END`);
  }
}

forEachDatabase('errors carry no personal data', (db) => {
  let smtp: TestSmtpServer;
  before(async () => {
    await db().migrate();
    smtp = await startSmtpServer();
  });
  after(async () => {
    await smtp.close();
  });
  beforeEach(async () => {
    await db().reset();
  });

  test('a failing outbox insert: job_runs, output and the alert hold code + message only', async () => {
    const { knex, dialect } = db();
    await plantFailingInsert(knex, dialect);
    try {
      await knex('cases').insert({
        reference: 'C-PRIV', title: PERSONAL[2], status: 10, contact_name: PERSONAL[1], contact_email: PERSONAL[0],
        scheduled_email_date: '2025-11-23',
      });
      const result = await runCli(['send-scheduled-emails', '--now', '2025-11-23T02:05:00Z', '--verbose'], {
        DATABASE_URL: db().url, ...smtp.env(), ONTIME_ALERT_EMAILS: 'ops@example.test',
      });
      // The refused row is listed and skipped (docs/security.md, bad rows): the run is partial,
      // and the database's reason is kept in the summary's failedRows.
      assert.equal(result.code, ExitCode.partial, result.stderr);
      const runs = await knex('job_runs').select('*');
      assert.equal(runs.length, 1);
      assert.equal(runs[0].status, 'partial');
      const summary = typeof runs[0].summary === 'string' ? runs[0].summary : JSON.stringify(runs[0].summary);
      assert.match(summary, /planted failure/);
      assert.doesNotMatch(summary, /insert into/i);
      const alert = smtp.messages.find((m) => m.to.includes('ops@example.test'));
      assert.ok(alert, 'the failure alert was sent');
      const stored = JSON.stringify(runs) + (await knex('email_outbox').select('*').then((r) => JSON.stringify(r)));
      for (const [where, text] of Object.entries({ job_runs: stored, stdout: result.stdout, stderr: result.stderr, alert: alert.raw })) {
        for (const secret of PERSONAL) assert.ok(!text.includes(secret), `${where} contains "${secret}"`);
      }
    } finally {
      await knex.raw('DROP TRIGGER IF EXISTS planted_failure' + (dialect === 'postgres' ? ' ON email_outbox' : ''));
      if (dialect === 'postgres') await knex.raw('DROP FUNCTION IF EXISTS planted_failure()');
    }
  });
});

test('"Connection terminated unexpectedly" is 75, "Server does not support secure connection" is 78', () => {
  assert.equal(classifyDatabaseError(new Error('Connection terminated unexpectedly'), 'db')?.exitCode, ExitCode.tempfail);
  const noTls = Object.assign(new Error('Server does not support secure connection'), { code: 'HANDSHAKE_NO_SSL_SUPPORT' });
  assert.equal(classifyDatabaseError(noTls, 'db')?.exitCode, ExitCode.config);
  assert.equal(classifyDatabaseError(new Error('The server does not support SSL connections'), 'db')?.exitCode, ExitCode.config);
});
