#!/usr/bin/env node
/**
 * The npm package as a user gets it: `npm pack`, then the three ways of installing the tarball,
 * each in a temporary directory outside the checkout:
 *   - global:            npm install -g --prefix <tmp> --allow-scripts=better-sqlite3 <tarball>
 *   - as a dependency:   a fresh application, npm install <tarball>, npx ontime migrate + a job
 *                        on SQLite and on PostgreSQL (DATABASE_URL and DATABASE_URL_FILE)
 *   - one-off:           npx --package <tarball> ontime --help
 * plus a driver missing from the installation (exit 78 naming the package, no stack trace).
 *
 * Slow (better-sqlite3 compiles from source on each install: minutes under load), so it is its
 * own CI step after `npm test`, not part of it. Run: npm run test:package
 * ONTIME_TEST_PG_URL: the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/test);
 * ONTIME_TEST_PACKAGE_SKIP_PG=1 leaves PostgreSQL out.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const checkout = resolve(fileURLToPath(new URL('..', import.meta.url)));
const version = JSON.parse(readFileSync(join(checkout, 'package.json'), 'utf8')).version;
const work = mkdtempSync(join(tmpdir(), 'ontime-package-'));
/** An install compiles SQLite: about a minute on a quiet 2-core machine, far longer on a busy one. */
const INSTALL_TIMEOUT_MS = 45 * 60_000;

/**
 * Children see nothing of the checkout: they start in the temporary directory, with an
 * environment stripped of npm's per-project variables and of any DATABASE_URL of the caller.
 */
function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|INIT_CWD$|NODE_PATH$|DATABASE_URL|ONTIME_)/i.test(k)) continue;
    env[k] = v;
  }
  return { ...env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', ...extra };
}

function run(cmd, args, { cwd, env = {}, timeout = 120_000 } = {}) {
  const r = spawnSync(cmd, args, { cwd, env: cleanEnv(env), encoding: 'utf8', timeout, killSignal: 'SIGKILL' });
  const ended = r.error ? `${r.error.code === 'ETIMEDOUT' ? `timed out after ${timeout / 1000} s` : r.error.message}` : (r.status ?? r.signal);
  const shown = `$ ${cmd} ${args.join(' ')}  (in ${cwd}) → ${ended}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', shown };
}

/**
 * npm 11 lists install scripts that no allowScripts entry covers (and refuses them under
 * --strict-allow-scripts); better-sqlite3's must not be among them. (A tarball's own `prepare` is
 * listed too, though npm does not run it for a packed tarball: the build is inside.)
 */
function assertDriverApproved(r) {
  assert.doesNotMatch(r.stderr, /not (yet )?covered by allowScripts:[\s\S]*better-sqlite3@/, r.shown);
}

function ok(r) {
  assert.equal(r.code, 0, r.shown);
  return r;
}

let tarball;
let packContents = [];

/**
 * Pack from a copy of the checkout's files (tracked and new, not ignored), so `prepack`'s clean
 * build never removes the dist/ that tests running in the checkout are using.
 */
function copyOfCheckout() {
  const copy = join(work, 'source');
  const listed = ok(run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: checkout })).stdout.split('\0').filter(Boolean);
  for (const file of listed) {
    if (!existsSync(join(checkout, file))) continue; // deleted but not yet committed
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    copyFileSync(join(checkout, file), join(copy, file));
  }
  symlinkSync(join(checkout, 'node_modules'), join(copy, 'node_modules'));
  return copy;
}

before(() => {
  const packed = ok(run('npm', ['pack', '--json', '--pack-destination', work], { cwd: copyOfCheckout(), timeout: 300_000 }));
  const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[')))[0];
  // Install from a copy inside the temporary directory: nothing below points into the checkout.
  tarball = join(work, 'dist-tarball', info.filename);
  mkdirSync(join(work, 'dist-tarball'));
  renameSync(join(work, info.filename), tarball);
  packContents = info.files.map((f) => f.path);
});

const npxCacheBefore = new Set(listNpxCache());

function listNpxCache() {
  const dir = join(homedir(), '.npm', '_npx');
  return existsSync(dir) ? readdirSync(dir) : [];
}

after(() => {
  rmSync(work, { recursive: true, force: true });
  // The one-off npx install lands in npm's cache; remove the entry this run made.
  for (const entry of listNpxCache()) {
    if (!npxCacheBefore.has(entry)) rmSync(join(homedir(), '.npm', '_npx', entry), { recursive: true, force: true });
  }
});

test('the tarball holds the built program, its docs and licence, and no sources or tests', () => {
  for (const f of ['bin/ontime', 'dist/cli.js', 'dist/db/migrations/0001_initial.js', 'README.md', 'CHANGELOG.md', 'LICENSE', 'crontab.example', '.env.example', 'docs/deploy.md']) {
    assert.ok(packContents.includes(f), `${f} missing from the tarball: ${packContents.join(', ')}`);
  }
  assert.deepEqual(packContents.filter((f) => /^(src|test|scripts|\.ci)\//.test(f) || f.endsWith('.map')), []);
});

describe('global install', () => {
  const prefix = join(work, 'global');
  const bin = join(prefix, 'bin', 'ontime');

  test('npm install -g --allow-scripts=better-sqlite3: the SQLite driver is approved and built', () => {
    mkdirSync(prefix);
    const r = ok(run('npm', ['install', '-g', '--prefix', prefix, '--allow-scripts=better-sqlite3', tarball], { cwd: work, timeout: INSTALL_TIMEOUT_MS }));
    assertDriverApproved(r);
    assert.ok(existsSync(bin), `${bin} not installed`);
  });

  test('ontime --version prints the package version', () => {
    assert.equal(ok(run(bin, ['--version'], { cwd: work })).stdout.trim(), version);
  });

  test('ontime demo in an empty directory', () => {
    const dir = join(work, 'empty');
    mkdirSync(dir);
    const r = ok(run(bin, ['demo'], { cwd: dir, timeout: 300_000 }));
    assert.ok(existsSync(join(dir, 'ontime-demo.sqlite3')), r.shown);
  });
});

describe('as a dependency of an application', () => {
  const app = join(work, 'app');
  const npx = (args, env = {}) => run('npx', ['--no', 'ontime', ...args], { cwd: app, env, timeout: 300_000 });
  let pg;
  let pgUrl;
  let pgAdmin;

  before(async () => {
    mkdirSync(app);
    // An application approves the SQLite driver's build once, in its own package.json.
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'some-app', version: '1.0.0', private: true, allowScripts: { 'better-sqlite3': true } }, null, 2));
    if (process.env.ONTIME_TEST_PACKAGE_SKIP_PG === '1') return;
    pg = (await import('pg')).default;
    const base = new URL(process.env.ONTIME_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
    const name = `ontime_package_${process.pid}`;
    pgAdmin = new pg.Client({ connectionString: new URL('/postgres', base).toString() });
    await pgAdmin.connect();
    await pgAdmin.query(`DROP DATABASE IF EXISTS ${name}`);
    await pgAdmin.query(`CREATE DATABASE ${name}`);
    pgUrl = new URL(`/${name}`, base).toString();
  });

  after(async () => {
    if (!pgAdmin) return;
    await pgAdmin.query(`DROP DATABASE IF EXISTS ${new URL(pgUrl).pathname.slice(1)} WITH (FORCE)`).catch(() => undefined);
    await pgAdmin.end();
  });

  test('npm install <tarball>', () => {
    assertDriverApproved(ok(run('npm', ['install', tarball], { cwd: app, timeout: INSTALL_TIMEOUT_MS })));
    assert.ok(existsSync(join(app, 'node_modules', '.bin', 'ontime')));
  });

  test('SQLite: npx ontime migrate, then a job', () => {
    ok(npx(['migrate']));
    const r = ok(npx(['cleanup-survey-progress', '--json']));
    assert.equal(JSON.parse(r.stdout).status, 'succeeded', r.shown);
    assert.ok(existsSync(join(app, 'ontime.sqlite3')));
  });

  test('PostgreSQL via DATABASE_URL: npx ontime migrate, then a job', (t) => {
    if (!pgUrl) return t.skip('ONTIME_TEST_PACKAGE_SKIP_PG=1');
    ok(npx(['migrate'], { DATABASE_URL: pgUrl }));
    const r = ok(npx(['cleanup-survey-progress', '--json'], { DATABASE_URL: pgUrl }));
    assert.equal(JSON.parse(r.stdout).status, 'succeeded', r.shown);
  });

  test('PostgreSQL via DATABASE_URL_FILE (a mounted secret, with its trailing newline)', (t) => {
    if (!pgUrl) return t.skip('ONTIME_TEST_PACKAGE_SKIP_PG=1');
    const file = join(work, 'database-url');
    writeFileSync(file, `${pgUrl}\n`);
    const r = ok(npx(['migrate', '--status', '--json'], { DATABASE_URL_FILE: file }));
    assert.match(r.stdout, /0001_initial/, r.shown);
  });

  test('a driver missing from the installation: exit 78 naming the package, no stack trace', () => {
    const driver = join(app, 'node_modules', 'pg');
    const hidden = join(work, 'pg-hidden');
    renameSync(driver, hidden);
    try {
      const r = npx(['migrate'], { DATABASE_URL: 'postgres://someone@127.0.0.1:5432/whatever' });
      assert.equal(r.code, 78, r.shown);
      assert.match(r.stderr, /install pg/, r.shown);
      assert.doesNotMatch(r.stderr, /^\s+at /m, r.shown);
    } finally {
      renameSync(hidden, driver);
    }
  });
});

describe('one-off with npx', () => {
  test('npx --package <tarball> ontime --help', () => {
    const dir = join(work, 'npx');
    mkdirSync(dir);
    copyFileSync(tarball, join(dir, 'ontime.tgz'));
    const r = ok(run('npx', ['--yes', '--allow-scripts=better-sqlite3', '--package', './ontime.tgz', 'ontime', '--help'], { cwd: dir, timeout: INSTALL_TIMEOUT_MS }));
    assert.match(r.stdout, /Usage: ontime/);
    assert.match(r.stdout, /process-data-governance/);
  });
});
