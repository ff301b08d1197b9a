/**
 * Database text in human output is escaped: a case reference with CR/LF cannot forge a line, and
 * terminal escape sequences do not reach the terminal. --json output is JSON.stringify's, unchanged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { printable } from '../../src/output.js';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';

const FORGED = 'C-1\r\nerror: forged line\u001b[2J\u0007';

test('printable: controls escaped, colour codes kept only when colour is on', () => {
  assert.equal(printable('a\r\nb\u001b[31mc', false), 'a\\r\\nb\\x1b[31mc');
  assert.equal(printable('\u001b[1mok\u001b[22m \u001b[2J', true), '\u001b[1mok\u001b[22m \\x1b[2J');
  assert.equal(printable('tab\tstays', false), 'tab\tstays');
});

forEachDatabase('database text in output', (db) => {
  test('a reference with CR/LF and escape sequences stays on its line, escaped', async () => {
    await db().reset();
    await db().knex('cases').insert({ reference: FORGED, title: 't', status: 10, scheduled_release_date: '2026-06-01' });
    const args = ['release-scheduled-cases', '--dry-run', '--verbose', '--now', '2026-06-10T12:00:00Z'];
    const human = await runCli(args, { DATABASE_URL: db().url });
    assert.equal(human.code, 0, human.stderr);
    const all = human.stdout + human.stderr;
    assert.ok(!all.split('\n').some((l) => l.startsWith('error: forged')), all);
    assert.ok(!all.includes('\u001b') && !all.includes('\r') && !all.includes('\u0007'));
    assert.match(human.stdout, /C-1\\r\\nerror: forged line\\x1b\[2J\\x07/);
  });
});
