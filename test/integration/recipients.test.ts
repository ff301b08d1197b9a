/**
 * Every recipient taken from the database is exactly one valid address, or the item is skipped and
 * reported as `invalid address` and never sent: cases.contact_email (send-scheduled-emails) and
 * surveys.owner_email (process-data-governance), against the real in-process SMTP server.
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { singleAddress } from '../../src/mail/address.js';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { insertSurvey } from '../helpers/fixtures.js';
import { useSmtpServer } from '../helpers/smtp.js';

const BAD = {
  'C-CRLF': 'a@x.test\r\nBcc: b@y.test',
  'C-LF': 'a@x.test\nb@y.test',
  'C-LIST': 'a@x.test, b@y.test',
  'C-SEMI': 'a@x.test;b@y.test',
  'C-NUL': 'a@x.test\u0000b@y.test',
  'C-NAME': 'Ada <a@x.test>',
};

test('singleAddress: one plain address only', () => {
  assert.equal(singleAddress('  ada@example.test '), 'ada@example.test');
  for (const value of [...Object.values(BAD), '', 'a@b', 'a@@b.test', 'a@b.test\t\r', '"a b"@x.test', `${'a'.repeat(250)}@x.test`]) {
    assert.equal(singleAddress(value), undefined, JSON.stringify(value));
  }
});

forEachDatabase('recipients from the database', (db) => {
  const smtp = useSmtpServer();
  beforeEach(async () => {
    await db().reset();
  });
  const allRecipients = () => smtp().messages.flatMap((m) => m.to);

  test('send-scheduled-emails sends only to the one valid contact_email; the others are skipped as invalid address', async () => {
    const { knex, dialect } = db();
    for (const [reference, contact_email] of Object.entries({ ...BAD, 'C-GOOD': 'good@example.test' })) {
      // PostgreSQL text cannot hold a NUL; another control character stands in for it there.
      const stored = dialect === 'postgres' ? contact_email.replace('\u0000', '\u0001') : contact_email;
      await knex('cases').insert({ reference, title: reference, status: 10, contact_email: stored, scheduled_email_date: '2025-11-23' });
    }
    const r = await runCli(['send-scheduled-emails', '--now', '2025-11-23T02:05:00Z', '--verbose'], { DATABASE_URL: db().url, ...smtp().env() });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(allRecipients(), ['good@example.test']);
    assert.match(r.stdout, /skipped, invalid address: 6/);
    for (const reference of Object.keys(BAD)) assert.match(r.stdout, new RegExp(`case ${reference} \\(id \\d+\\): invalid address`));
    const unsent = await knex('cases').whereNot({ reference: 'C-GOOD' }).whereNotNull('actual_email_sent_date');
    assert.equal(unsent.length, 0);
  });

  test('process-data-governance does not warn an owner whose address is not exactly one', async () => {
    const { knex, dialect } = db();
    const soon = new Date('2026-06-08T00:00:00Z');
    await insertSurvey(knex, dialect, { name: 'bad', owner_email: 'o@x.test\r\nBcc: p@y.test', deletion_date: soon });
    await insertSurvey(knex, dialect, { name: 'list', owner_email: 'o@x.test,p@y.test', deletion_date: soon });
    await insertSurvey(knex, dialect, { name: 'good', owner_email: 'owner@example.test', deletion_date: soon });
    const r = await runCli(['process-data-governance', '--now', '2026-06-01T02:00:00Z', '--verbose'], { DATABASE_URL: db().url, ...smtp().env() });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(allRecipients(), ['owner@example.test']);
    assert.equal((r.stdout.match(/owner email invalid address/g) ?? []).length, 2);
  });
});
