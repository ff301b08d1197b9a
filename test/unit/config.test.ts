import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig, parseDatabaseUrl } from '../../src/config.js';
import { ConfigError, redact } from '../../src/errors.js';

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
