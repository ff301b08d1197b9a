/** `ontime work` stops cleanly on SIGTERM; `ontime doctor` findings and exit codes. */
import { migrations } from '../../src/db/migrations/index.js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { binPath, emptyCwd, runCli, testEnv } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';

forEachDatabase('work and doctor', (db) => {
  test('work waits for the next minute and stops at once on SIGTERM, exit 0', async () => {
    const child = spawn(process.execPath, [binPath, 'work'], { env: testEnv({ DATABASE_URL: db().url }), cwd: emptyCwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (stdout.includes('ontime work: starting')) {
          clearInterval(poll);
          resolve();
        }
      }, 50);
    });
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.equal(code, 0, stderr);
    assert.match(stderr, /SIGTERM: stopping/);
    assert.match(stdout, /ontime work: stopped/);
  });

  test('doctor: all fine with mail configured; findings with fixes otherwise', async () => {
    const ok = await runCli(['doctor'], { DATABASE_URL: db().url, EMAIL_BACKEND: 'file', EMAIL_FILE_PATH: join(tmpdir(), 'ontime-doctor-mail') });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /ok {4}database: .* answered/);
    assert.match(ok.stdout, /ok {4}migrations: all applied/);
    assert.match(ok.stdout, /ok {4}clock: /);

    const noMail = await runCli(['doctor', '--json'], { DATABASE_URL: db().url });
    assert.equal(noMail.code, 78);
    const report = JSON.parse(noMail.stdout);
    const email = report.findings.find((f: { check: string }) => f.check === 'email');
    assert.equal(email.level, 'fail');
    assert.match(email.fix, /EMAIL_HOST/);
  });
});

test('doctor: unreachable database → 75, a world-readable .env → 78, no secret printed', async () => {
  const down = await runCli(['doctor'], { DATABASE_URL: 'postgres://u:hunter2secret@127.0.0.1:1/x', EMAIL_BACKEND: 'console' });
  assert.equal(down.code, 75, down.stdout);
  assert.match(down.stdout, /FAIL {2}database: /);
  assert.doesNotMatch(down.stdout + down.stderr, /hunter2secret/);

  const dir = mkdtempSync(join(tmpdir(), 'ontime-doctor-'));
  writeFileSync(join(dir, '.env'), `DATABASE_URL=sqlite:${join(dir, 'x.sqlite3')}\nEMAIL_BACKEND=console\n`);
  chmodSync(join(dir, '.env'), 0o644);
  const open = await runCli(['doctor'], {}, { cwd: dir });
  assert.equal(open.code, 78, open.stdout);
  assert.match(open.stdout, /FAIL {2}\.env: .* readable by every user/);
  assert.match(open.stdout, /fix: chmod 600 /);
  assert.match(open.stdout, new RegExp(`FAIL {2}migrations: ${migrations.length} pending`));
  chmodSync(join(dir, '.env'), 0o600);
  const closed = await runCli(['doctor'], {}, { cwd: dir });
  assert.match(closed.stdout, /ok {4}\.env: /);
});

test('check prints a Nagios UNKNOWN line when it cannot look', async () => {
  const r = await runCli(['check'], { DATABASE_URL: 'postgres://u@127.0.0.1:1/x' });
  assert.equal(r.code, 3);
  assert.match(r.stdout, /^ONTIME UNKNOWN - cannot reach the database/);
});
