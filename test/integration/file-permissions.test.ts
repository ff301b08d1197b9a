/**
 * Files ontime writes: mail files 0600 in 0700 directories it creates, a new SQLite database 0600,
 * temporary files with random names, and a planted symlink in the mail directory is never written
 * through. POSIX modes: skipped on Windows.
 */
import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { createTransport } from '../../src/mail/transport.js';
import { runCli } from '../helpers/cli.js';

const mode = (path: string) => statSync(path).mode & 0o777;

const message = (outboxId: number) => ({
  from: 'cases@ontime.example', to: 'person@example.test', subject: 'Hello', text: 'private body',
  messageId: `<${outboxId}@ontime.test>`, headers: {}, outboxId,
});

/** The names the file backend used to write for this message in the next few seconds. */
function predictableNames(outboxId: number): string[] {
  const names: string[] = [];
  for (let s = 0; s < 5; s++) {
    const stamp = new Date(Date.now() + s * 1000).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    const name = `${stamp}-outbox-${outboxId}.eml`;
    names.push(name, `.${name}.tmp`);
  }
  return names;
}

describe('files ontime writes', { skip: process.platform === 'win32' }, () => {
  test('the file mail backend: 0700 directory it creates, 0600 files, no temporary file left', async () => {
    const base = mkdtempSync(join(tmpdir(), 'ontime-files-'));
    const dir = join(base, 'mail', 'out');
    const transport = await createTransport(loadConfig({ EMAIL_BACKEND: 'file', EMAIL_FILE_PATH: dir }, base).email);
    assert.deepEqual(await transport.send(message(1)), { ok: true });
    assert.equal(mode(dir), 0o700);
    assert.equal(mode(join(base, 'mail')), 0o700);
    const files = readdirSync(dir);
    assert.equal(files.length, 1);
    assert.match(files[0]!, /-outbox-1\.eml$/);
    assert.equal(mode(join(dir, files[0]!)), 0o600);
  });

  test('a symlink planted in a shared mail directory is never written through', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ontime-shared-'));
    const victim = join(mkdtempSync(join(tmpdir(), 'ontime-victim-')), 'precious.txt');
    writeFileSync(victim, 'precious');
    const planted = predictableNames(7);
    for (const name of planted) symlinkSync(victim, join(dir, name));
    const transport = await createTransport(loadConfig({ EMAIL_BACKEND: 'file', EMAIL_FILE_PATH: dir }, dir).email);
    assert.deepEqual(await transport.send(message(7)), { ok: true });
    assert.equal(readFileSync(victim, 'utf8'), 'precious');
    for (const name of planted) assert.ok(lstatSync(join(dir, name)).isSymbolicLink(), `${name} left alone`);
    const written = readdirSync(dir).filter((n) => !planted.includes(n));
    assert.equal(written.length, 1, `one new file: ${written.join(', ')}`);
    assert.ok(lstatSync(join(dir, written[0]!)).isFile());
    assert.match(readFileSync(join(dir, written[0]!), 'utf8'), /private body/);
  });

  test('a new SQLite database is 0600 in a 0700 directory', async () => {
    const base = mkdtempSync(join(tmpdir(), 'ontime-sqlite-'));
    const file = join(base, 'data', 'cases.sqlite3');
    const r = await runCli(['migrate'], { DATABASE_URL: `sqlite://${file}` });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(mode(file), 0o600);
    assert.equal(mode(join(base, 'data')), 0o700);
    for (const extra of readdirSync(join(base, 'data'))) assert.equal(mode(join(base, 'data', extra)) & 0o077, 0, `${extra} not readable by others`);
  });
});
