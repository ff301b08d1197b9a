/** The built binary, as cron starts it: exit codes, stdout versus stderr, colour, --json, secrets. */
import { migrations } from '../../src/db/migrations/index.js';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { spawn } from 'node:child_process';
import { binPath, repoRoot, spawnCli, testEnv } from '../helpers/cli.js';
import { DAY, insertMany, insertSurvey, progressRow } from '../helpers/fixtures.js';
import { forEachDatabase } from '../helpers/databases.js';

const PASSWORD = 'p@ss:w/rd#1';
const ENCODED = encodeURIComponent(PASSWORD);
const secretFree = (text: string) => !text.includes(PASSWORD) && !text.includes(ENCODED) && !text.includes('p@ss');

describe('exit codes without a database', () => {
  test('unknown option → 64', async () => {
    const r = await spawnCli(['cleanup-survey-progress', '--bogus'], {});
    assert.equal(r.code, 64);
    assert.match(r.stderr, /unknown option '--bogus'/);
    assert.equal(r.stdout, '');
  });

  test('unknown command → 64', async () => {
    const r = await spawnCli(['release-everything'], {});
    assert.equal(r.code, 64);
  });

  test('--older-than-days 0 → 64', async () => {
    const r = await spawnCli(['cleanup-survey-progress', '--older-than-days', '0'], {});
    assert.equal(r.code, 64);
    assert.match(r.stderr, /--older-than-days must be a whole number from 1 to 36500/);
  });

  test('a future --now without --dry-run → 64, before touching any database', async () => {
    const r = await spawnCli(['cleanup-survey-progress', '--now', '2099-01-01T00:00:00Z'], {
      DATABASE_URL: `postgres://u:${ENCODED}@127.0.0.1:1/db`,
    });
    assert.equal(r.code, 64);
    assert.match(r.stderr, /later than the clock/);
    assert.ok(secretFree(r.stdout + r.stderr));
  });

  test('a closed port → 75, password never printed', async () => {
    for (const scheme of ['postgres', 'mysql']) {
      const r = await spawnCli(['cleanup-survey-progress', '--verbose'], { DATABASE_URL: `${scheme}://app:${ENCODED}@127.0.0.1:1/db` });
      assert.equal(r.code, 75, r.stderr);
      assert.match(r.stderr, /cannot reach the database/);
      assert.ok(secretFree(r.stdout + r.stderr), r.stderr);
    }
  });

  test('a malformed URL → 78, password never printed', async () => {
    const r = await spawnCli(['cleanup-survey-progress'], { DATABASE_URL: `postgres://app:${PASSWORD}@127.0.0.1:5432/db` });
    assert.equal(r.code, 78);
    assert.match(r.stderr, /DATABASE_URL is not a valid postgres:\/\/ URL/);
    assert.ok(secretFree(r.stdout + r.stderr), r.stderr);
  });

  test('an unknown scheme → 78 naming it', async () => {
    const r = await spawnCli(['cleanup-survey-progress'], { DATABASE_URL: `mongodb://app:${ENCODED}@127.0.0.1/db` });
    assert.equal(r.code, 78);
    assert.match(r.stderr, /"mongodb:" is not supported/);
    assert.ok(secretFree(r.stdout + r.stderr));
  });

  test('--help lists every command and option with a description, and exits 0', async () => {
    const r = await spawnCli(['--help'], {});
    assert.equal(r.code, 0);
    for (const name of ['release-scheduled-cases', 'send-scheduled-emails', 'weekly-pending-payment-update', 'weekly-paid-update', 'bulk-update-case-status', 'process-data-governance', 'cleanup-survey-progress', 'migrate', 'history', 'locks', 'export', 'doctor']) {
      assert.match(r.stdout, new RegExp(`^  ${name}\\b.*\\S{3,}`, 'm'), name);
    }
    const job = await spawnCli(['cleanup-survey-progress', '--help'], {});
    for (const option of ['--dry-run', '--verbose', '--json', '--now', '--batch-size', '--batch-time', '--limit', '--timeout', '--older-than-days']) {
      assert.match(job.stdout, new RegExp(`^  ${option}\\b.*\\s\\w+`, 'm'), option);
    }
  });

  test('--help loads neither knex nor a database driver (nor the YAML parser)', () => {
    const script = `
      import { main } from './dist/cli.js';
      import { createRequire } from 'node:module';
      const sink = { write() { return true; } };
      await main(['--help'], { streams: { stdout: sink, stderr: sink } });
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      process.stdout.write(JSON.stringify(loaded.filter((p) => /node_modules\\/(knex|pg|mysql2|better-sqlite3|nodemailer|yaml)\\//.test(p))));
    `;
    const loaded = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot, encoding: 'utf8' }));
    assert.deepEqual(loaded, []);
  });

  test('the same check would notice knex being loaded', () => {
    const script = `
      import { createRequire } from 'node:module';
      await import('knex');
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      process.stdout.write(String(loaded.some((p) => p.includes('node_modules/knex/'))));
    `;
    assert.equal(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot, encoding: 'utf8' }), 'true');
  });
});

describe('the embedded SQLite default', () => {
  test('DATABASE_URL unset: a notice on stderr, ./ontime.sqlite3 created by migrate, a job runs', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'ontime-default-'));
    const unmigrated = await spawnCli(['cleanup-survey-progress'], {}, { cwd });
    assert.equal(unmigrated.code, 78);
    assert.match(unmigrated.stderr, /not migrated.*run `ontime migrate`/);
    assert.match(unmigrated.stderr, /DATABASE_URL is not set; using the embedded SQLite database \.\/ontime\.sqlite3/);
    const migrate = await spawnCli(['migrate'], {}, { cwd });
    assert.equal(migrate.code, 0, migrate.stderr);
    assert.ok(existsSync(join(cwd, 'ontime.sqlite3')));
    const run = await spawnCli(['cleanup-survey-progress', '--dry-run'], {}, { cwd });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Starting survey progress cleanup/);
  });
});

forEachDatabase('binary against a database', (db) => {
  test('an unmigrated database → 78 with "run `ontime migrate`"', async () => {
    const { knex } = db();
    // This file's database is migrated by the matrix; roll it back to prove the check.
    const r0 = await spawnCli(['migrate', '--rollback', '--yes'], { DATABASE_URL: db().url });
    assert.equal(r0.code, 0, r0.stderr);
    assert.equal(await knex.schema.hasTable('survey_progress'), false);
    const r = await spawnCli(['cleanup-survey-progress'], { DATABASE_URL: db().url });
    assert.equal(r.code, 78);
    assert.match(r.stderr, /run `ontime migrate`/);
    const status = await spawnCli(['migrate', '--status', '--json'], { DATABASE_URL: db().url });
    assert.equal(JSON.parse(status.stdout).pending, migrations.length, 'the rollback undid the whole batch the matrix applied');
    const again = await spawnCli(['migrate'], { DATABASE_URL: db().url });
    assert.equal(again.code, 0, again.stderr);
    const twice = await spawnCli(['migrate'], { DATABASE_URL: db().url });
    assert.match(twice.stdout, /up to date/);
  });

  test('--rollback without --yes → 64 and nothing dropped', async () => {
    const r = await spawnCli(['migrate', '--rollback'], { DATABASE_URL: db().url });
    assert.equal(r.code, 64);
    assert.equal(await db().knex.schema.hasTable('survey_progress'), true);
  });

  test('--json: stdout is one JSON object, human lines on stderr', async () => {
    const r = await spawnCli(['cleanup-survey-progress', '--json'], { DATABASE_URL: db().url });
    assert.equal(r.code, 0, r.stderr);
    const parsed = JSON.parse(r.stdout);
    assert.equal(parsed.job, 'cleanup-survey-progress');
    assert.equal(parsed.exitCode, 0);
    assert.equal(typeof parsed.summary.deleted, 'number');
    assert.match(r.stderr, /Starting survey progress cleanup/);
  });

  test('no colour when NO_COLOR is set or stdout is a pipe; FORCE_COLOR forces it', async () => {
    const plain = await spawnCli(['cleanup-survey-progress'], { DATABASE_URL: db().url, NO_COLOR: '1' });
    assert.doesNotMatch(plain.stdout + plain.stderr, /\x1b\[/);
    const piped = await spawnCli(['cleanup-survey-progress'], { DATABASE_URL: db().url, NO_COLOR: undefined });
    assert.doesNotMatch(piped.stdout, /\x1b\[/);
    const forced = await spawnCli(['migrate', '--status'], { DATABASE_URL: db().url, NO_COLOR: undefined, FORCE_COLOR: '1' });
    assert.match(forced.stdout, /\x1b\[/);
  });

  test('a reader that goes away (`| head -1`) does not crash the run: it finishes, exit 0', async () => {
    const { knex, dialect } = db();
    const surveyId = await insertSurvey(knex, dialect);
    const old = new Date(Date.now() - 2 * DAY);
    await insertMany(knex, 'survey_progress', Array.from({ length: 3000 }, (_, i) => progressRow(dialect, { survey_id: surveyId, session_key: `k${i}`, expires_at: old })));
    const child = spawn(process.execPath, [binPath, 'cleanup-survey-progress', '--verbose', '--batch-size', '100'], {
      env: testEnv({ DATABASE_URL: db().url }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /EPIPE|Error:/);
    assert.equal(Number((await knex('survey_progress').count({ n: '*' }))[0]!.n), 0);
  });
});

describe('version', () => {
  test('ontime --version and -V print the version of the installed package.json', async () => {
    const { readFileSync } = await import('node:fs');
    const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version;
    for (const flag of ['--version', '-V']) {
      const r = await spawnCli([flag], {});
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${version}\n`);
    }
  });
});
