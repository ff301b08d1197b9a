import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig, parseDatabaseUrl } from '../../src/config.js';
import { ConfigError, redact } from '../../src/errors.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';

const PASSWORD = 'p@ss:w/rd#1';
const ENCODED = encodeURIComponent(PASSWORD);

describe('DATABASE_URL', () => {
  test('unset → embedded SQLite ./ontime.sqlite3', () => {
    const c = parseDatabaseUrl(undefined, '/srv/app');
    assert.equal(c.dialect, 'sqlite');
    assert.equal(c.filename, '/srv/app/ontime.sqlite3');
    assert.equal(c.isDefault, true);
  });

  test('sqlite:relative.db and sqlite:///abs.db', () => {
    assert.equal(parseDatabaseUrl('sqlite:data/x.db', '/srv/app').filename, '/srv/app/data/x.db');
    assert.equal(parseDatabaseUrl('sqlite:///var/lib/ontime/x.db', '/srv/app').filename, '/var/lib/ontime/x.db');
  });

  for (const scheme of ['postgres', 'postgresql']) {
    test(`${scheme}:// with an encoded password`, () => {
      const c = parseDatabaseUrl(`${scheme}://app:${ENCODED}@db.internal:6543/cases`);
      assert.equal(c.dialect, 'postgres');
      assert.equal(c.host, 'db.internal');
      assert.equal(c.port, 6543);
      assert.equal(c.user, 'app');
      assert.equal(c.password, PASSWORD);
      assert.equal(c.database, 'cases');
      assert.ok(!c.display.includes(PASSWORD) && !c.display.includes(ENCODED), c.display);
    });
  }

  for (const scheme of ['mysql', 'mariadb']) {
    test(`${scheme}:// defaults to port 3306`, () => {
      const c = parseDatabaseUrl(`${scheme}://root@127.0.0.1/test`);
      assert.equal(c.dialect, 'mysql');
      assert.equal(c.port, 3306);
      assert.equal(c.password, undefined);
    });
  }

  test('an unknown scheme is a configuration error naming the scheme', () => {
    assert.throws(() => parseDatabaseUrl('oracle://u:secret123@h/db'), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /"oracle:" is not supported/);
      assert.ok(!err.message.includes('secret123'));
      return true;
    });
  });

  test('a malformed URL never echoes the password', () => {
    assert.throws(() => parseDatabaseUrl(`postgres://u:${PASSWORD}@127.0.0.1:5432/db`), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.exitCode, 78);
      assert.ok(!err.message.includes(PASSWORD) && !(err.hint ?? '').includes(PASSWORD));
      return true;
    });
  });

  test('a URL without a database name is refused', () => {
    assert.throws(() => parseDatabaseUrl('postgres://u@h:5432/'), /names no database/);
  });
});

describe('redaction', () => {
  test('registered passwords are removed in every spelling', () => {
    parseDatabaseUrl(`postgres://u:${ENCODED}@h/db`);
    assert.equal(redact(`failed with ${PASSWORD} and ${ENCODED}`), 'failed with *** and ***');
  });

  test('credentials inside any URL are removed', () => {
    assert.equal(redact('see smtp://mailer:hunter22@mx:587 now'), 'see smtp://mailer:***@mx:587 now');
  });
});

describe('environment', () => {
  test('the environment wins over .env, and EMAIL_HOST implies the smtp backend', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'ontime-env-'));
    writeFileSync(join(dir, '.env'), 'SITE_URL=https://from-file.example\nEMAIL_HOST=mx.example\nONTIME_TIMEZONE=Europe/London\n');
    const c = loadConfig({ SITE_URL: 'https://from-env.example/' }, dir);
    assert.equal(c.siteUrl, 'https://from-env.example');
    assert.equal(c.email.backend, 'smtp');
    assert.equal(c.timezone, 'Europe/London');
  });

  test('bad values are configuration errors that name the variable', () => {
    assert.throws(() => loadConfig({ ONTIME_LOCK: 'redis' }, '/nonexistent'), /ONTIME_LOCK/);
    assert.throws(() => loadConfig({ ONTIME_TIMEZONE: 'Mars/Olympus' }, '/nonexistent'), /ONTIME_TIMEZONE/);
    assert.throws(() => loadConfig({ EMAIL_PORT: 'smtp' }, '/nonexistent'), /EMAIL_PORT/);
    assert.throws(() => loadConfig({ EMAIL_USE_TLS: 'true', EMAIL_USE_SSL: 'true' }, '/nonexistent'), /only one/);
  });
});

describe('secrets from files (<NAME>_FILE)', () => {
  const secretDir = mkdtempSync(join(tmpdir(), 'ontime-secret-'));
  const write = (name: string, text: string) => {
    const file = join(secretDir, name);
    writeFileSync(file, text);
    return file;
  };

  test('DATABASE_URL_FILE and EMAIL_HOST_PASSWORD_FILE are read, trailing newline dropped', () => {
    const url = write('db-url', `postgres://app:${ENCODED}@db.internal:5432/cases\n`);
    const pass = write('smtp-pass', 'sm7p-s3cret\r\n');
    const c = loadConfig({ DATABASE_URL_FILE: url, EMAIL_HOST: 'mx.example', EMAIL_HOST_PASSWORD_FILE: pass }, secretDir);
    assert.equal(c.database.dialect, 'postgres');
    assert.equal(c.database.password, PASSWORD);
    assert.equal(c.database.database, 'cases');
    assert.equal(c.email.password, 'sm7p-s3cret');
  });

  test('a relative path is read from the working directory; ONTIME_PING_URL_FILE too', () => {
    write('ping', 'https://hc-ping.example/0b1c2d3e-secret-uuid/{job}\n');
    const c = loadConfig({ ONTIME_PING_URL_FILE: 'ping' }, secretDir);
    assert.equal(c.pingUrl, 'https://hc-ping.example/0b1c2d3e-secret-uuid/{job}');
  });

  test('values read from files are redacted like any secret', () => {
    const pass = write('smtp-pass-2', 'an0ther-secret\n');
    loadConfig({ EMAIL_HOST: 'mx.example', EMAIL_HOST_PASSWORD_FILE: pass }, secretDir);
    assert.doesNotMatch(redact('login failed for an0ther-secret'), /an0ther-secret/);
  });

  test('both <NAME> and <NAME>_FILE set, an unreadable or an empty file: configuration errors naming the variable', () => {
    const url = write('db-url-2', 'sqlite:x.db\n');
    const isConfig = (pattern: RegExp) => (e: unknown) => e instanceof ConfigError && e.exitCode === 78 && pattern.test(e.message);
    assert.throws(() => loadConfig({ DATABASE_URL: 'sqlite:y.db', DATABASE_URL_FILE: url }, secretDir), isConfig(/both DATABASE_URL and DATABASE_URL_FILE/));
    assert.throws(() => loadConfig({ EMAIL_HOST_PASSWORD: 'x', EMAIL_HOST_PASSWORD_FILE: url }, secretDir), isConfig(/both EMAIL_HOST_PASSWORD and/));
    assert.throws(() => loadConfig({ DATABASE_URL_FILE: join(secretDir, 'missing') }, secretDir), isConfig(/DATABASE_URL_FILE: cannot read .*missing/));
    assert.throws(() => loadConfig({ DATABASE_URL_FILE: write('blank', '\n') }, secretDir), isConfig(/DATABASE_URL_FILE: .* is empty/));
  });

  test('the command line: both set exits 78; a password from a file never appears in output', async () => {
    const url = write('db-url-3', 'sqlite:x.db\n');
    const both = await runCli(['jobs'], { DATABASE_URL: 'sqlite:y.db', DATABASE_URL_FILE: url }, { cwd: secretDir });
    assert.equal(both.code, 78);
    assert.match(both.stderr, /both DATABASE_URL and DATABASE_URL_FILE are set/);
    const withPassword = write('db-url-4', 'postgres://app:Fi1e-Pa55word@127.0.0.1:1/nothing\n');
    const r = await runCli(['jobs', '--verbose'], { DATABASE_URL_FILE: withPassword }, { cwd: secretDir });
    assert.equal(r.code, 75, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /Fi1e-Pa55word/);
  });
});
