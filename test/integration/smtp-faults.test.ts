/**
 * The SMTP server closes the connection after the message's DATA, before its answer: the message
 * is not known to be delivered, so its outbox row goes back to `pending` (never `sent`, the case
 * not marked), and the next run sends it again with the Message-ID it already had, once.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp.js';

const NOW = '2025-11-23T02:05:00Z';

forEachDatabase('SMTP closes the connection after DATA', (db) => {
  let smtp: TestSmtpServer;
  before(async () => {
    smtp = await startSmtpServer();
  });
  after(async () => smtp.close());
  beforeEach(async () => {
    await db().reset();
    smtp.respondWith(null);
    smtp.setHook(() => undefined);
    smtp.messages.length = 0;
  });

  test('the message stays pending, then is sent once with the same Message-ID', async () => {
    const { knex } = db();
    await knex('cases').insert({ reference: 'C-1', title: 'One', status: 10, contact_name: 'Ada', contact_email: 'ada@example.test', scheduled_email_date: '2025-11-23' });
    const env = { DATABASE_URL: db().url, SITE_URL: 'https://cases.example.org', ...smtp.env() };
    let dropped = 0;
    smtp.setHook((ctx) => (ctx.stage === 'data' ? (dropped++, 'drop') : undefined));

    const first = await runCli(['send-scheduled-emails', '--now', NOW], env);
    assert.ok(dropped >= 1, 'the server cut the connection after DATA');
    // docs/mail.md: a deferred message is not a failure of the run (exit 0); it waits, pending.
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /deferred for retry: 1/);
    assert.doesNotMatch(first.stderr, /internal error/);
    const [row] = await knex('email_outbox').select('*');
    assert.equal(row.status, 'pending');
    assert.ok(row.message_id, 'the Message-ID was chosen before the attempt');
    assert.equal((await knex('cases').first()).actual_email_sent_date, null, 'the case is not marked sent');
    assert.equal(smtp.messages.length, 0);

    smtp.setHook(() => undefined);
    const second = await runCli(['send-scheduled-emails', '--now', NOW], env);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(smtp.messages.length, 1);
    assert.equal(smtp.messages[0]!.messageId, row.message_id, 'the same Message-ID');
    const after = await knex('email_outbox').first();
    assert.equal(after.status, 'sent');
    assert.notEqual((await knex('cases').first()).actual_email_sent_date, null);
    assert.equal(Number((await knex('audit_log').where({ action: 'case.email_sent' }).count({ n: '*' }).first())!.n), 1);

    const third = await runCli(['send-scheduled-emails', '--now', NOW], env);
    assert.equal(third.code, 0);
    assert.equal(smtp.messages.length, 1, 'never sent again');
  });
});
