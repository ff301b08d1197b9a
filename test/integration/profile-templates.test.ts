/**
 * A profile's own mail template (docs/mail-templates.md) replaces the built-in one for its kind:
 * send-scheduled-emails sends the profile's subject, text and HTML, with values escaped in the
 * HTML part; a template naming an unknown field stops every command with 78 before anything runs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { useSmtpServer } from '../helpers/smtp.js';

const NOW = '2025-11-23T02:05:00Z';

function profileFile(templates: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'ontime-profile-')), 'profile.json');
  writeFileSync(file, JSON.stringify({ extends: 'ontime', templates }));
  return file;
}

forEachDatabase('profile mail templates', (db) => {
  const smtp = useSmtpServer();
  // The test database has ontime's unprefixed tables: the file's profile keeps those names.
  const env = (file: string) => ({ DATABASE_URL: db().url, SITE_URL: 'https://portal.example.org', ONTIME_PROFILE_FILE: file, ONTIME_TABLE_PREFIX: '', ...smtp().env() });

  test('send-scheduled-emails renders the profile\'s case-notification template', async () => {
    const { knex } = db();
    await knex('cases').insert({ reference: 'WS-1', title: 'Report <ready> & "final"', status: 10, contact_name: 'Ada', contact_email: 'ada@example.test', scheduled_email_date: '2025-11-23' });
    const file = profileFile({
      'case-notification': {
        subject: 'REPORT: The case {case_reference} is ready for you!',
        text: '{greeting}\n{case_title}\n{case_url}\n',
        html: '<p>{case_title}</p><a href="{case_url}">{{open}}</a>',
      },
    });
    const r = await runCli(['send-scheduled-emails', '--now', NOW], env(file));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(smtp().messages.length, 1);
    const m = smtp().messages[0]!;
    assert.equal(m.subject, 'REPORT: The case WS-1 is ready for you!');
    assert.match(m.raw, /Dear Ada,/);
    assert.match(m.raw, /&lt;ready&gt; &amp; &quot;final&quot;/);
    assert.match(m.raw, /\{open\}/);
    const row = await knex('email_outbox').first();
    assert.equal(row.subject, 'REPORT: The case WS-1 is ready for you!');
  });

  test('a template with an unknown field is refused at load: 78 naming the key and the field', async () => {
    const file = profileFile({ 'case-notification': { subject: 'REPORT: {employee_first}', text: '', html: '' } });
    const r = await runCli(['send-scheduled-emails', '--now', NOW], env(file));
    assert.equal(r.code, 78, r.stdout + r.stderr);
    assert.match(r.stderr, /templates\.case-notification: subject uses the unknown field \{employee_first\}/);
    const kind = await runCli(['send-scheduled-emails', '--now', NOW], env(profileFile({ 'case-released': { subject: 's', text: '', html: '' } })));
    assert.equal(kind.code, 78);
    assert.match(kind.stderr, /templates\.case-released: unknown mail kind/);
  });
});
