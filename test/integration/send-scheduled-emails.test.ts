/** send-scheduled-emails end to end (in-process CLI) against a real SMTP server, on every database. */
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import type { Knex } from 'knex';
import type { Dialect } from '../../src/config.js';
import { fromDbInstant } from '../../src/db/time.js';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase, RUN_TABLES } from '../helpers/databases.js';
import { closedPort, startSmtpServer, type TestSmtpServer } from '../helpers/smtp.js';

const NOW = '2025-11-23T02:05:00Z';
const TODAY = '2025-11-23';

interface CaseValues {
  reference: string;
  contact_email?: string | null;
  scheduled_email_date?: string | null;
  actual_email_sent_date?: string | null;
  hold_start_date?: string | null;
  hold_end_date?: string | null;
  hold_duration_days?: number | null;
}

async function insertCase(knex: Knex, _dialect: Dialect, v: CaseValues): Promise<number> {
  const [row] = await knex('cases')
    .insert({
      reference: v.reference,
      title: `Title of ${v.reference}`,
      status: 10,
      contact_name: 'Grace Hopper',
      contact_email: v.contact_email === undefined ? `${v.reference.toLowerCase()}@example.test` : v.contact_email,
      scheduled_email_date: v.scheduled_email_date === undefined ? TODAY : v.scheduled_email_date,
      actual_email_sent_date: v.actual_email_sent_date ?? null,
      hold_start_date: v.hold_start_date ?? null,
      hold_end_date: v.hold_end_date ?? null,
      hold_duration_days: v.hold_duration_days ?? null,
    })
    .returning('id');
  return typeof row === 'object' ? Number((row as { id: number }).id) : Number(row);
}

forEachDatabase('send-scheduled-emails', (db) => {
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

  const env = (extra: Record<string, string> = {}) => ({
    DATABASE_URL: db().url,
    SITE_URL: 'https://cases.example.org',
    ...smtp.env(),
    ...extra,
  });
  const run = (args: string[], extra: Record<string, string> = {}) =>
    runCli(['send-scheduled-emails', '--now', NOW, ...args], env(extra));
  const caseRow = (id: number) => db().knex('cases').where({ id }).first();

  /** Due: today, yesterday (a missed run), a hold that ended today. Not due: tomorrow, sent, held. */
  async function seed() {
    const { knex, dialect } = db();
    const ids = {
      today: await insertCase(knex, dialect, { reference: 'C-TODAY' }),
      overdue: await insertCase(knex, dialect, { reference: 'C-OVERDUE', scheduled_email_date: '2025-11-20' }),
      holdEnded: await insertCase(knex, dialect, { reference: 'C-HOLD-ENDED', hold_start_date: '2025-11-01', hold_end_date: TODAY }),
      tomorrow: await insertCase(knex, dialect, { reference: 'C-TOMORROW', scheduled_email_date: '2025-11-24' }),
      sent: await insertCase(knex, dialect, { reference: 'C-SENT', actual_email_sent_date: '2025-11-22 10:00:00' }),
      held: await insertCase(knex, dialect, { reference: 'C-HELD', hold_start_date: '2025-11-20', hold_duration_days: 7 }),
      openHold: await insertCase(knex, dialect, { reference: 'C-OPEN-HOLD', hold_start_date: '2025-11-01' }),
      unscheduled: await insertCase(knex, dialect, { reference: 'C-NONE', scheduled_email_date: null }),
      noAddress: await insertCase(knex, dialect, { reference: 'C-NOADDR', contact_email: null }),
    };
    return ids;
  }

  test('sends exactly the due cases, records them on the case with an audit row, and a second run sends nothing', async () => {
    const ids = await seed();
    const first = await run(['--verbose']);
    assert.equal(first.code, 0, first.stderr + first.stdout);
    assert.match(first.stdout, /Starting scheduled email sending at 2025-11-23 02:05:00 UTC/);
    assert.match(first.stdout, /--- Scheduled Emails ---/);
    assert.match(first.stdout, /Sent 3 emails/);
    assert.match(first.stdout, /skipped without address: 1/);
    assert.match(first.stdout, /skipped case C-NOADDR .*no contact_email/);
    assert.match(first.stdout, /Scheduled email sending completed at/);
    const recipients = smtp.messages.map((m) => m.to[0]).sort();
    assert.deepEqual(recipients, ['c-hold-ended@example.test', 'c-overdue@example.test', 'c-today@example.test']);
    const today = smtp.messages.find((m) => m.to[0] === 'c-today@example.test')!;
    assert.equal(today.subject, 'Case C-TODAY: Title of C-TODAY');
    assert.match(today.text, new RegExp(`https://cases\\.example\\.org/cases/${ids.today}/`));

    for (const id of [ids.today, ids.overdue, ids.holdEnded]) {
      const row = await caseRow(id);
      assert.ok(fromDbInstant(row.actual_email_sent_date), `case ${id} recorded as sent`);
      const outbox = await db().knex('email_outbox').where({ dedupe_key: `case-email:${id}:${id === ids.overdue ? '2025-11-20' : TODAY}` }).first();
      assert.equal(outbox.status, 'sent');
      assert.ok(smtp.messages.some((m) => m.messageId === outbox.message_id));
      const auditRows = await db().knex('audit_log').where({ action: 'case.email_sent', subject_id: String(id) });
      assert.equal(auditRows.length, 1);
      assert.equal(auditRows[0].actor, 'job:send-scheduled-emails');
    }
    for (const id of [ids.tomorrow, ids.held, ids.openHold, ids.unscheduled, ids.noAddress]) {
      assert.equal((await caseRow(id)).actual_email_sent_date, null);
    }

    const second = await run([]);
    assert.equal(second.code, 0);
    assert.match(second.stdout, /Sent 0 emails/);
    assert.equal(smtp.messages.length, 3);
  });

  test('--json gives the counts as one object', async () => {
    await seed();
    const r = await run(['--json']);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout);
    assert.equal(json.summary.sent, 3);
    assert.equal(json.summary.skippedNoAddress, 1);
    assert.equal(json.summary.failed, 0);
    assert.equal(json.summary.deferred, 0);
    assert.match(r.stderr, /Starting scheduled email sending/);
  });

  test('451: rows stay pending, cases unsent, exit 0; a later run sends them with the same Message-ID', async () => {
    const ids = await seed();
    smtp.respondWith(451);
    const first = await run([]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /deferred for retry: 3/);
    assert.equal(smtp.messages.length, 0);
    const pending = await db().knex('email_outbox').where({ status: 'pending' }).orderBy('id');
    assert.equal(pending.length, 3);
    assert.equal((await caseRow(ids.today)).actual_email_sent_date, null);

    smtp.respondWith(null);
    const second = await run([]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /Sent 3 emails/);
    const sent = await db().knex('email_outbox').where({ status: 'sent' }).orderBy('id');
    assert.deepEqual(
      sent.map((r) => r.message_id),
      pending.map((r) => r.message_id),
    );
    assert.deepEqual(smtp.messages.map((m) => m.messageId).sort(), pending.map((r) => r.message_id).sort());
  });

  test('550: rows failed with the answer, listed, exit 1; the next run does not retry them', async () => {
    const ids = await seed();
    smtp.setHook((ctx) => (ctx.recipient === 'c-overdue@example.test' ? { code: 550, message: '550 5.1.1 Unknown user' } : undefined));
    const r = await run([]);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    assert.match(r.stdout, /FAILED case C-OVERDUE .*550 5\.1\.1 Unknown user/);
    assert.match(r.stdout, /Sent 2 emails/);
    assert.match(r.stdout, /failed: 1/);
    const failed = await db().knex('email_outbox').where({ status: 'failed' }).first();
    assert.match(failed.last_error, /550 5\.1\.1 Unknown user/);
    assert.equal((await caseRow(ids.overdue)).actual_email_sent_date, null);

    const again = await run([]);
    assert.equal(again.code, 0, again.stdout);
    assert.match(again.stdout, /failed in an earlier run, not retried: 1/);
    assert.equal(smtp.messages.length, 2);
  });

  test('closed port: exit 69, nothing marked sent, rows pending', async () => {
    const ids = await seed();
    const port = await closedPort();
    const r = await run([], { EMAIL_PORT: String(port) });
    assert.equal(r.code, 69, r.stderr + r.stdout);
    assert.match(r.stderr, /cannot reach the SMTP server 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    assert.equal(await db().knex('email_outbox').where({ status: 'sent' }).count({ c: '*' }).then((x) => Number(x[0]!.c)), 0);
    assert.equal(await db().knex('email_outbox').whereNot({ status: 'pending' }).count({ c: '*' }).then((x) => Number(x[0]!.c)), 0);
    for (const id of Object.values(ids)) {
      if (id === ids.sent) continue;
      assert.equal((await caseRow(id)).actual_email_sent_date, null);
    }
  });

  test('a message left `sending` by a crashed run is resent once with the same Message-ID', async () => {
    const { knex, dialect } = db();
    const id = await insertCase(knex, dialect, { reference: 'C-CRASH' });
    await knex('email_outbox').insert({
      dedupe_key: `case-email:${id}:${TODAY}`,
      kind: 'case-notification',
      to_address: 'c-crash@example.test',
      subject: 'Case C-CRASH: Title of C-CRASH',
      body_text: 'body',
      status: 'sending',
      attempts: 1,
      message_id: '<crashed.1@ontime.example>',
    });
    const r = await run([]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(smtp.messages.length, 1);
    assert.equal(smtp.messages[0]!.messageId, '<crashed.1@ontime.example>');
    assert.ok(fromDbInstant((await caseRow(id)).actual_email_sent_date));
    await run([]);
    assert.equal(smtp.messages.length, 1);
  });

  test('an outbox row already sent is recorded on the case, not sent again', async () => {
    const { knex, dialect } = db();
    const id = await insertCase(knex, dialect, { reference: 'C-DONE' });
    await knex('email_outbox').insert({
      dedupe_key: `case-email:${id}:${TODAY}`,
      to_address: 'c-done@example.test',
      status: 'sent',
      attempts: 1,
      message_id: '<done@ontime.example>',
      sent_at: dialect === 'sqlite' ? '2025-11-23 01:00:00' : new Date('2025-11-23T01:00:00Z'),
    });
    const r = await run([]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(smtp.messages.length, 0);
    assert.match(r.stdout, /already sent earlier: 1/);
    assert.equal(fromDbInstant((await caseRow(id)).actual_email_sent_date)?.toISOString(), '2025-11-23T01:00:00.000Z');
  });

  test('a dry run lists recipients and subjects, changes nothing and opens no SMTP connection', async () => {
    await seed();
    const before = await db().checksum();
    const connections = smtp.connections;
    const r = await run(['--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\[dry run\] Starting scheduled email sending/m);
    assert.match(r.stdout, /would send to c-today@example\.test: Case C-TODAY: Title of C-TODAY/);
    assert.match(r.stdout, /would send to c-overdue@example\.test/);
    assert.match(r.stdout, /Would send 3 emails/);
    assert.equal(await db().checksum(), before);
    assert.equal(smtp.connections, connections);
    assert.equal(smtp.messages.length, 0);
  });

  test('mail due without a mail backend: exit 78 naming the variables, nothing changed', async () => {
    await seed();
    const before = await db().checksum({ except: RUN_TABLES });
    const r = await runCli(['send-scheduled-emails', '--now', NOW], { DATABASE_URL: db().url });
    assert.equal(r.code, 78, r.stderr);
    assert.match(r.stderr, /EMAIL_HOST/);
    assert.match(r.stderr, /EMAIL_BACKEND=console/);
    assert.equal(await db().checksum({ except: RUN_TABLES }), before);
  });

  test('nothing due: no mailer is created (no backend needed), exit 0', async () => {
    const { knex, dialect } = db();
    await insertCase(knex, dialect, { reference: 'C-LATER', scheduled_email_date: '2026-12-01' });
    const r = await runCli(['send-scheduled-emails', '--now', NOW], { DATABASE_URL: db().url });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /No emails due\./);
  });

  test('only cases without an address due: skipped, no mailer, exit 0', async () => {
    const { knex, dialect } = db();
    await insertCase(knex, dialect, { reference: 'C-BLANK', contact_email: '  ' });
    const r = await runCli(['send-scheduled-emails', '--now', NOW], { DATABASE_URL: db().url });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /skipped without address: 1/);
  });

  test('--limit and --batch-size page through the due cases', async () => {
    const { knex, dialect } = db();
    for (let i = 0; i < 5; i++) await insertCase(knex, dialect, { reference: `C-L${i}` });
    const r = await run(['--batch-size', '2', '--limit', '3']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(smtp.messages.length, 3);
    assert.match(r.stdout, /Stopped at --limit/);
    const rest = await run(['--batch-size', '2']);
    assert.equal(rest.code, 0, rest.stderr);
    assert.equal(smtp.messages.length, 5);
  });

  test('the console backend prints the messages in the run output', async () => {
    await insertCase(db().knex, db().dialect, { reference: 'C-CONSOLE' });
    const r = await runCli(['send-scheduled-emails', '--now', NOW], { DATABASE_URL: db().url, EMAIL_BACKEND: 'console' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /To: c-console@example\.test/);
    assert.match(r.stdout, /Subject: Case C-CONSOLE/);
    assert.match(r.stdout, /Sent 1 email\b/);
  });

  test('several connections at once: one message per case, and deferred ones resent with their Message-IDs', async () => {
    const { knex, dialect } = db();
    const ids: number[] = [];
    for (let i = 0; i < 30; i++) ids.push(await insertCase(knex, dialect, { reference: `C-P${i}` }));
    const sessions = new Set<string>();
    // Every third recipient is answered 451 on the first run; every message notes its connection.
    smtp.setHook((c) => {
      if (c.stage === 'rcpt') sessions.add(c.session.id);
      if (c.stage === 'rcpt' && Number(/c-p(\d+)@/.exec(c.recipient ?? '')?.[1]) % 3 === 0) return { code: 451 };
      return undefined;
    });
    const first = await run(['--batch-size', '7', '--json'], { ONTIME_SMTP_CONNECTIONS: '4' });
    assert.equal(first.code, 0, first.stderr);
    const firstSummary = JSON.parse(first.stdout).summary;
    assert.equal(firstSummary.sent, 20);
    assert.equal(firstSummary.deferred, 10);
    assert.ok(sessions.size > 1, `messages went over ${sessions.size} connection(s), expected several`);
    const deferred = await knex('email_outbox').where({ status: 'pending' }).orderBy('id');
    assert.equal(deferred.length, 10);

    smtp.setHook(null);
    const second = await run(['--batch-size', '7'], { ONTIME_SMTP_CONNECTIONS: '4' });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /Sent 10 emails/);

    // Each case's address received exactly one message, with the Message-ID of its outbox row.
    const outbox = await knex('email_outbox').orderBy('id');
    assert.equal(outbox.length, 30);
    assert.deepEqual(
      smtp.messages.map((m) => m.to[0]).sort(),
      ids.map((_, i) => `c-p${i}@example.test`).sort(),
    );
    for (const row of outbox) {
      assert.equal(row.status, 'sent');
      const got = smtp.messages.filter((m) => m.messageId === row.message_id);
      assert.equal(got.length, 1, `${row.dedupe_key} delivered once under its Message-ID`);
      assert.equal(got[0]!.to[0], row.to_address);
    }
    // The deferred rows kept the Message-IDs they had when first enqueued.
    for (const row of deferred) {
      const now = outbox.find((r) => r.id === row.id)!;
      assert.equal(now.message_id, row.message_id);
      assert.equal(Number(now.attempts), 2);
    }
    for (const id of ids) {
      assert.ok(fromDbInstant((await caseRow(id)).actual_email_sent_date), `case ${id} recorded as sent`);
      const auditRows = await knex('audit_log').where({ action: 'case.email_sent', subject_id: String(id) });
      assert.equal(auditRows.length, 1, `one audit row for case ${id}`);
    }
    const third = await run([], { ONTIME_SMTP_CONNECTIONS: '4' });
    assert.equal(third.code, 0, third.stderr);
    assert.equal(smtp.messages.length, 30);
  });

  test('each accepted message records its own acceptance time on its case and outbox row', async () => {
    const { knex, dialect } = db();
    const ids: number[] = [];
    for (let i = 0; i < 12; i++) ids.push(await insertCase(knex, dialect, { reference: `C-T${i}` }));
    const started = Date.now();
    const r = await run([], { ONTIME_SMTP_CONNECTIONS: '3' });
    assert.equal(r.code, 0, r.stderr);
    for (const id of ids) {
      const c = await caseRow(id);
      const o = await knex('email_outbox').where({ dedupe_key: `case-email:${id}:${TODAY}` }).first();
      const caseAt = fromDbInstant(c.actual_email_sent_date)!;
      assert.equal(caseAt.getTime(), fromDbInstant(o.sent_at)!.getTime(), `case ${id} and its outbox row agree`);
      assert.ok(caseAt.getTime() >= started - 1000 && caseAt.getTime() <= Date.now() + 1000, 'the real time, not --now');
    }
  });

  test('ONTIME_SMTP_CONNECTIONS out of range: exit 78 naming it', async () => {
    await insertCase(db().knex, db().dialect, { reference: 'C-CONN' });
    const r = await run([], { ONTIME_SMTP_CONNECTIONS: '0' });
    assert.equal(r.code, 78, r.stderr);
    assert.match(r.stderr, /ONTIME_SMTP_CONNECTIONS must be a whole number from 1 to 16, not "0"/);
    assert.equal(smtp.messages.length, 0);
  });

  test('the snake_case alias runs the same job', async () => {
    await insertCase(db().knex, db().dialect, { reference: 'C-ALIAS' });
    const r = await runCli(['send_scheduled_emails', '--now', NOW], env());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Sent 1 email\b/);
    assert.equal(smtp.messages.length, 1);
  });
});
