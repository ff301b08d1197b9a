/** The mail layer against a real SMTP server: the outbox state machine, Message-IDs, backends. */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { createMailer, sendNow } from '../../src/mail/index.js';
import type { Mailer, OutgoingMessage } from '../../src/mail/mailer.js';
import { renderCaseNotification } from '../../src/mail/templates/case-notification.js';
import { emptyCwd } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { closedPort, startSmtpServer, type TestSmtpServer } from '../helpers/smtp.js';

function message(n: number, overrides: Partial<OutgoingMessage> = {}): OutgoingMessage {
  const rendered = renderCaseNotification({
    caseId: n,
    reference: `C-${n}`,
    title: `Title <${n}> & more`,
    contactName: 'Ada Lovelace',
    siteUrl: 'https://cases.example.org',
  });
  return {
    dedupeKey: `test:${n}`,
    kind: 'case-notification',
    to: `person${n}@example.test`,
    subject: rendered.subject,
    text: rendered.text,
    html: rendered.html,
    ...overrides,
  };
}

forEachDatabase('mail outbox', (db) => {
  let smtp: TestSmtpServer;
  let mailer: Mailer;
  let n = 0;

  const config = (env: Record<string, string>) => loadConfig({ DATABASE_URL: db().url, ...env }, emptyCwd);

  before(async () => {
    smtp = await startSmtpServer();
  });
  after(async () => {
    await smtp.close();
  });
  beforeEach(async () => {
    smtp.respondWith(null);
    smtp.messages.length = 0;
    mailer = await createMailer(config(smtp.env()), db().knex);
    n += 1;
  });
  afterEach(async () => {
    await mailer.close();
  });

  const outbox = (key: string) => db().knex('email_outbox').where({ dedupe_key: key }).first();

  test('a message arrives with recipient, subject, link and the Message-ID stored in the outbox', async () => {
    const msg = message(n);
    let onSentRan = false;
    const outcome = await sendNow(mailer, db().knex, msg, null, async (trx) => {
      onSentRan = true;
      // The callback runs inside the transaction that marks the row sent.
      const row = await trx('email_outbox').where({ dedupe_key: msg.dedupeKey }).first();
      assert.equal(row.status, 'sent');
    });
    assert.equal(outcome.status, 'sent');
    assert.ok(onSentRan);
    assert.equal(smtp.messages.length, 1);
    const got = smtp.messages[0]!;
    assert.deepEqual(got.to, [msg.to]);
    assert.equal(got.subject, msg.subject);
    assert.match(got.text, new RegExp(`https://cases\\.example\\.org/cases/${n}/`));
    assert.match(got.text, /Title &lt;\d+&gt; &amp; more/, 'HTML part escapes the title');
    const row = await outbox(msg.dedupeKey);
    assert.equal(row.status, 'sent');
    assert.equal(Number(row.attempts), 1);
    assert.ok(row.sent_at);
    assert.match(row.message_id, /^<ontime\.[^@]+@ontime\.example>$/);
    assert.equal(got.messageId, row.message_id);
  });

  test('451 leaves the row pending; a later delivery sends it with the same Message-ID', async () => {
    const msg = message(n);
    smtp.respondWith(451);
    const first = await sendNow(mailer, db().knex, msg, null);
    assert.equal(first.status, 'deferred');
    assert.match((first as { error: string }).error, /451/);
    let row = await outbox(msg.dedupeKey);
    assert.equal(row.status, 'pending');
    assert.match(row.last_error, /451/);
    const messageId = row.message_id;
    assert.equal(smtp.messages.length, 0);

    smtp.respondWith(null);
    const second = await sendNow(mailer, db().knex, msg, null);
    assert.equal(second.status, 'sent');
    row = await outbox(msg.dedupeKey);
    assert.equal(row.status, 'sent');
    assert.equal(Number(row.attempts), 2);
    assert.equal(row.message_id, messageId);
    assert.equal(smtp.messages[0]!.messageId, messageId);
  });

  test('550 marks the row failed with the server answer, and it is not retried by itself', async () => {
    const msg = message(n);
    smtp.respondWith(550, 'rcpt', '550 5.1.1 No such user here');
    const outcome = await sendNow(mailer, db().knex, msg, null);
    assert.equal(outcome.status, 'failed');
    const row = await outbox(msg.dedupeKey);
    assert.equal(row.status, 'failed');
    assert.match(row.last_error, /550 5\.1\.1 No such user here/);

    smtp.respondWith(null);
    const again = await sendNow(mailer, db().knex, msg, null);
    assert.equal(again.status, 'failed');
    assert.equal((again as { earlier?: boolean }).earlier, true);
    assert.equal(smtp.messages.length, 0);

    // A corrected address is a new message: it goes out.
    const fixed = await sendNow(mailer, db().knex, { ...msg, to: 'corrected@example.test' }, null);
    assert.equal(fixed.status, 'sent');
    assert.deepEqual(smtp.messages[0]!.to, ['corrected@example.test']);
  });

  test('550 to DATA fails the row too', async () => {
    const msg = message(n);
    smtp.respondWith(554, 'data', '554 5.7.1 Message rejected as spam');
    const outcome = await sendNow(mailer, db().knex, msg, null);
    assert.equal(outcome.status, 'failed');
    assert.match((await outbox(msg.dedupeKey)).last_error, /554 5\.7\.1/);
  });

  test('a connection dropped mid-conversation leaves the row pending', async () => {
    const msg = message(n);
    smtp.setHook((ctx) => (ctx.stage === 'data' ? 'drop' : undefined));
    const outcome = await sendNow(mailer, db().knex, msg, null);
    assert.equal(outcome.status, 'deferred');
    assert.equal((await outbox(msg.dedupeKey)).status, 'pending');
  });

  test('a closed port is unreachable and nothing is marked sent', async () => {
    const port = await closedPort();
    const down = await createMailer(config({ EMAIL_HOST: '127.0.0.1', EMAIL_PORT: String(port) }), db().knex);
    try {
      const msg = message(n);
      const outcome = await sendNow(down, db().knex, msg, null, async () => {
        throw new Error('onSent must not run');
      });
      assert.equal(outcome.status, 'unreachable');
      assert.equal((outcome as { cause?: string }).cause, 'connect');
      assert.match((outcome as { error: string }).error, /ECONNREFUSED/);
      const row = await outbox(msg.dedupeKey);
      assert.equal(row.status, 'pending');
      assert.equal(row.sent_at, null);
    } finally {
      await down.close();
    }
  });

  test('a row left `sending` by a crash is resent once with the same Message-ID, never again', async () => {
    const msg = message(n);
    const row = await mailer.enqueue(db().knex, msg, null);
    // The crashed run: claimed, the server accepted, the commit never happened.
    await db().knex('email_outbox').where({ id: row.id }).update({ status: 'sending', attempts: 1 });
    const first = await mailer.deliver(row);
    assert.equal(first.status, 'sent');
    assert.equal(smtp.messages.length, 1);
    assert.equal(smtp.messages[0]!.messageId, row.message_id);

    const second = await sendNow(mailer, db().knex, msg, null);
    assert.equal(second.status, 'already-sent');
    const third = await mailer.deliver(row);
    assert.equal(third.status, 'already-sent');
    assert.equal(smtp.messages.length, 1);
    assert.equal(Number((await outbox(msg.dedupeKey)).attempts), 2);
  });

  test('enqueue twice with one dedupe key gives one row', async () => {
    const msg = message(n);
    const a = await mailer.enqueue(db().knex, msg, null);
    const b = await mailer.enqueue(db().knex, { ...msg, subject: 'changed' }, null);
    assert.equal(a.id, b.id);
    assert.equal(a.message_id, b.message_id);
    const count = await db().knex('email_outbox').where({ dedupe_key: msg.dedupeKey }).count({ c: '*' });
    assert.equal(Number(count[0]!.c), 1);
  });

  test('onSent failing rolls back the sent mark: the row stays sending for the next run', async () => {
    const msg = message(n);
    await assert.rejects(
      sendNow(mailer, db().knex, msg, null, async () => {
        throw new Error('domain update failed');
      }),
      /domain update failed/,
    );
    const row = await outbox(msg.dedupeKey);
    assert.equal(row.status, 'sending');
    const retry = await sendNow(mailer, db().knex, msg, null);
    assert.equal(retry.status, 'sent');
    assert.equal(smtp.messages.length, 2);
    assert.equal(smtp.messages[0]!.messageId, smtp.messages[1]!.messageId);
  });

  test('deliverMany: several connections, one delivery per row, a stop finishes what is in flight and puts the rest back', async () => {
    await mailer.close();
    mailer = await createMailer(config({ ...smtp.env(), ONTIME_SMTP_CONNECTIONS: '4' }), db().knex);
    const messages = Array.from({ length: 40 }, (_, i) => message(n * 1000 + i, { dedupeKey: `many:${n}:${i}` }));
    const rows = await mailer.enqueueMany(db().knex, messages, null);
    assert.deepEqual(
      rows.map((r) => r.dedupe_key),
      messages.map((m) => m.dedupeKey),
    );
    // Enqueueing again finds the same rows, Message-IDs unchanged.
    const again = await mailer.enqueueMany(db().knex, messages, null);
    assert.deepEqual(
      again.map((r) => [r.id, r.message_id]),
      rows.map((r) => [r.id, r.message_id]),
    );

    let started = 0;
    const sentInGroups: number[] = [];
    const outcomes: string[] = [];
    await assert.rejects(
      mailer.deliverMany(rows, {
        beforeSend: async () => {
          if (started === 25) throw new Error('time limit reached');
          started += 1;
        },
        onSent: async (trx, accepted) => {
          sentInGroups.push(accepted.length);
          // In the transaction that marks them sent.
          const marked = await trx('email_outbox').whereIn('id', accepted.map((a) => a.row.id)).where('status', 'sent');
          assert.equal(marked.length, accepted.length);
        },
        onOutcome: (_row, outcome) => {
          outcomes.push(outcome.status);
        },
      }),
      /time limit reached/,
    );
    const stored = await db().knex('email_outbox').where('dedupe_key', 'like', `many:${n}:%`);
    const sent = stored.filter((r) => r.status === 'sent');
    assert.equal(sent.length, 25, 'the messages started before the stop were delivered and recorded');
    assert.equal(stored.filter((r) => r.status === 'pending').length, 15, 'the rest went back to pending');
    for (const r of stored.filter((x) => x.status === 'pending')) assert.equal(Number(r.attempts), 0);
    assert.equal(outcomes.filter((o) => o === 'sent').length, 25);
    assert.equal(sentInGroups.reduce((x, y) => x + y, 0), 25);
    assert.ok(Math.max(...sentInGroups) <= 20, 'groups stay small');
    assert.equal(smtp.messages.length, 25);

    // The next delivery sends only the rest, each once, with the Message-IDs chosen at enqueue.
    const result = await mailer.deliverMany(await mailer.enqueueMany(db().knex, messages, null));
    assert.equal(result.notAttempted, 0);
    assert.equal(smtp.messages.length, 40);
    const byId = new Map(rows.map((r) => [r.message_id, r.to_address]));
    assert.equal(new Set(smtp.messages.map((m) => m.messageId)).size, 40);
    for (const m of smtp.messages) assert.equal(byId.get(m.messageId ?? null), m.to[0]);
  });

  test('deliverMany over one connection commits each message before the next starts (a crash repeats at most one)', async () => {
    await mailer.close();
    mailer = await createMailer(config({ ...smtp.env(), ONTIME_SMTP_CONNECTIONS: '1' }), db().knex);
    const messages = Array.from({ length: 6 }, (_, i) => message(n * 1000 + i, { dedupeKey: `one:${n}:${i}` }));
    const groups: number[] = [];
    const result = await mailer.deliverMany(await mailer.enqueueMany(db().knex, messages, null), {
      onSent: async (trx, accepted) => {
        groups.push(accepted.length);
        // Nothing else of the set is `sending` with a message already accepted: the one in hand only.
        const inFlight = await trx('email_outbox').where('dedupe_key', 'like', `one:${n}:%`).where('status', 'sent');
        assert.equal(inFlight.length, groups.length);
      },
    });
    assert.equal(result.notAttempted, 0);
    assert.deepEqual(groups, [1, 1, 1, 1, 1, 1]);
    assert.equal(smtp.messages.length, 6);
  });

  test('the console backend prints a readable message and marks it sent', async () => {
    const lines: string[] = [];
    const consoleMailer = await createMailer(config({ EMAIL_BACKEND: 'console' }), db().knex, {
      console: { line: (t) => lines.push(t) },
    });
    const msg = message(n);
    const outcome = await sendNow(consoleMailer, db().knex, msg, null);
    await consoleMailer.close();
    assert.equal(outcome.status, 'sent');
    const printed = lines.join('\n');
    assert.match(printed, new RegExp(`To: ${msg.to}`));
    assert.match(printed, new RegExp(`Subject: Case C-${n}`));
    assert.match(printed, /https:\/\/cases\.example\.org\/cases\/\d+\//);
    assert.equal((await outbox(msg.dedupeKey)).status, 'sent');
  });

  test('the file backend writes one .eml file per message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ontime-mail-'));
    const fileMailer = await createMailer(config({ EMAIL_BACKEND: 'file', EMAIL_FILE_PATH: dir }), db().knex);
    const msg = message(n);
    const outcome = await sendNow(fileMailer, db().knex, msg, null);
    await fileMailer.close();
    assert.equal(outcome.status, 'sent');
    const files = readdirSync(dir).filter((f) => f.endsWith('.eml'));
    assert.equal(files.length, 1);
    const eml = readFileSync(join(dir, files[0]!), 'utf8');
    const row = await outbox(msg.dedupeKey);
    assert.match(eml, new RegExp(`Message-ID: ${row.message_id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'i'));
    assert.match(eml, new RegExp(`To: ${msg.to}`));
  });

  test('a refused login is unreachable with cause auth, the row stays pending, the password is never shown', async () => {
    const bad = await createMailer(
      config({ ...smtp.env(), EMAIL_HOST_USER: 'mailer', EMAIL_HOST_PASSWORD: 'wrong', EMAIL_ALLOW_PLAINTEXT_AUTH: 'true' }),
      db().knex,
    );
    try {
      const msg = message(n);
      const outcome = await sendNow(bad, db().knex, msg, null);
      assert.equal(outcome.status, 'unreachable');
      assert.equal((outcome as { cause?: string }).cause, 'auth');
      assert.match((outcome as { error: string }).error, /EMAIL_HOST_PASSWORD/);
      const row = await outbox(msg.dedupeKey);
      assert.equal(row.status, 'pending');
      assert.doesNotMatch(row.last_error, /wrong/);
      assert.equal(smtp.messages.length, 0);
    } finally {
      await bad.close();
    }
  });

  test('verify() checks the server without sending', async () => {
    assert.equal((await mailer.verify()).ok, true);
    const down = await createMailer(config({ EMAIL_HOST: '127.0.0.1', EMAIL_PORT: String(await closedPort()) }), db().knex);
    const result = await down.verify();
    await down.close();
    assert.equal(result.ok, false);
    assert.equal((result as { cause: string }).cause, 'connect');
    assert.equal(smtp.messages.length, 0);
  });

  test('no backend configured is a configuration error naming the variables', async () => {
    await assert.rejects(createMailer(config({}), db().knex), (err: Error & { exitCode?: number; hint?: string }) => {
      assert.equal(err.exitCode, 78);
      assert.match(err.hint ?? '', /EMAIL_HOST/);
      assert.match(err.hint ?? '', /EMAIL_BACKEND=console/);
      return true;
    });
  });
});
