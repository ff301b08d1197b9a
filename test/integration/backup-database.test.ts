/**
 * backup-database and restore-database on every database: SQLite's online backup under a
 * concurrent writer, rotation, restore; PostgreSQL and MariaDB dumps restored into a fresh
 * database; a password in DATABASE_URL never on a command line, in output or in job_runs.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, test } from 'node:test';
import { runCli, repoRoot } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';

const freshDir = (tag: string) => mkdtempSync(join(tmpdir(), `ontime-${tag}-`));

forEachDatabase('backup-database', (db) => {
  beforeEach(async () => {
    await db().reset();
  });
  const backup = async (dir: string, args: string[] = [], extra: Record<string, string> = {}) => {
    const res = await runCli(['backup-database', '--json', ...args], { DATABASE_URL: db().url, ONTIME_BACKUP_DIR: dir, ...extra });
    return { ...res, json: res.stdout ? JSON.parse(res.stdout) : undefined };
  };
  const addCases = async (n: number, prefix = 'C') => {
    for (let i = 0; i < n; i += 100) {
      await db().knex('cases').insert(Array.from({ length: Math.min(100, n - i) }, (_, j) => ({ reference: `${prefix}-${i + j}`, title: 't', status: 10 })));
    }
  };
  const countCases = async () => Number((await db().knex('cases').count({ n: '*' }).first())!.n);

  test('rotation keeps exactly --keep backups, newest first, and never touches other files', async () => {
    const dir = freshDir('backups');
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    await addCases(3);
    const files: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await backup(dir, ['--keep', '2']);
      assert.equal(res.code, 0, res.stderr + res.stdout);
      files.push(res.json.summary.file);
      assert.equal(statSync(res.json.summary.file).mode & 0o777, 0o600);
    }
    const left = readdirSync(dir).sort();
    assert.deepEqual(left, ['notes.txt', ...files.slice(2).map((f) => f.split('/').pop()!)].sort());
    const dry = await backup(dir, ['--dry-run', '--keep', '1']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.json.summary.deleted, 2);
    assert.equal(readdirSync(dir).length, 3);
  });

  test('the backup restores and holds the rows', async (t) => {
    if (db().name === 'sqlite') return t.skip('SQLite: see the online backup test');
    await addCases(250);
    const dir = freshDir('dump');
    const res = await backup(dir);
    assert.equal(res.code, 0, res.stderr + res.stdout);
    const file: string = res.json.summary.file;
    const url = new URL(db().url);
    const fresh = `ontime_restore_${process.pid}_${Date.now()}`;
    if (db().name === 'postgres') {
      assert.match(file, /\.pgdump$/);
      await db().knex.raw(`CREATE DATABASE "${fresh}"`);
      const r = spawnSync('pg_restore', ['--no-owner', '-h', url.hostname, '-p', url.port || '5432', '-U', url.username || 'postgres', '-d', fresh, file], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const q = spawnSync('psql', ['-At', '-h', url.hostname, '-p', url.port || '5432', '-U', url.username || 'postgres', '-d', fresh, '-c', 'SELECT count(*) FROM cases'], { encoding: 'utf8' });
      assert.equal(q.stdout.trim(), '250', q.stderr);
      await db().knex.raw(`DROP DATABASE "${fresh}"`);
    } else {
      assert.match(file, /\.sql\.gz$/);
      await db().knex.raw(`CREATE DATABASE \`${fresh}\``);
      const sql = spawnSync('gunzip', ['-c', file]);
      const args = ['-h', url.hostname, '-P', url.port || '3306', '-u', url.username || 'root'];
      const r = spawnSync('mariadb', [...args, fresh], { input: sql.stdout, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const q = spawnSync('mariadb', [...args, '-N', '-e', 'SELECT count(*) FROM cases', fresh], { encoding: 'utf8' });
      assert.equal(q.stdout.trim(), '250', q.stderr);
      await db().knex.raw(`DROP DATABASE \`${fresh}\``);
    }
  });

  test('without the dump tool on PATH: exit 78 naming the package, and no file', async (t) => {
    if (db().name === 'sqlite') return t.skip('SQLite needs no tool');
    const dir = freshDir('notool');
    const res = await backup(dir, [], { PATH: freshDir('empty-path') });
    assert.equal(res.code, 78, res.stderr);
    assert.match(res.stderr, db().name === 'postgres' ? /postgresql-client/ : /mariadb-client/);
    assert.deepEqual(readdirSync(dir), []);
  });

  test('a dump that fails deletes no older backup and leaves no partial file', async (t) => {
    if (db().name === 'sqlite') return t.skip('no dump tool on SQLite');
    const dir = freshDir('failing');
    const older = ['ontime-20250101T011500.000Z', 'ontime-20250102T011500.000Z'].map((n) => `${n}.${db().name === 'postgres' ? 'pgdump' : 'sql.gz'}`);
    for (const name of older) writeFileSync(join(dir, name), 'old backup');
    const wrapDir = freshDir('failing-tool');
    for (const tool of ['pg_dump', 'mariadb-dump']) {
      writeFileSync(join(wrapDir, tool), '#!/bin/sh\necho "dump refused" >&2\nexit 2\n');
      chmodSync(join(wrapDir, tool), 0o755);
    }
    const res = await backup(dir, ['--keep', '1'], { PATH: `${wrapDir}:${process.env.PATH}` });
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /exited with 2: dump refused/);
    assert.deepEqual(readdirSync(dir).sort(), older);
  });

  test('a password in DATABASE_URL reaches the dump tool only through its environment', async (t) => {
    if (db().name === 'sqlite') return t.skip('no password on SQLite');
    const password = `Pw-${process.pid}-secret`;
    const user = `ontime_pw_${process.pid}`;
    const knex = db().knex;
    const url = new URL(db().url);
    if (db().name === 'postgres') {
      await knex.raw(`DROP ROLE IF EXISTS ${user}`);
      await knex.raw(`CREATE ROLE ${user} LOGIN SUPERUSER PASSWORD '${password}'`);
    } else {
      await knex.raw(`DROP USER IF EXISTS '${user}'@'%'`);
      await knex.raw(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
      await knex.raw(`GRANT ALL ON *.* TO '${user}'@'%'`);
    }
    url.username = user;
    url.password = password;
    // The dump tool is wrapped: while it runs, the wrapper reads its own /proc/<pid>/cmdline and
    // notes whether the password arrived in its environment, then becomes the real tool.
    const wrapDir = freshDir('wrap');
    const real = db().name === 'postgres' ? 'pg_dump' : 'mariadb-dump';
    const variable = db().name === 'postgres' ? 'PGPASSWORD' : 'MYSQL_PWD';
    const realPath = spawnSync('sh', ['-c', `command -v ${real}`], { encoding: 'utf8' }).stdout.trim();
    writeFileSync(
      join(wrapDir, real),
      `#!/bin/sh\ntr '\\0' ' ' < /proc/$$/cmdline > "${wrapDir}/cmdline"\n[ "$${variable}" = '${password}' ] && echo yes > "${wrapDir}/env"\nexec ${realPath} "$@"\n`,
    );
    chmodSync(join(wrapDir, real), 0o755);
    try {
      await addCases(5);
      const dir = freshDir('pw');
      const res = await runCli(['backup-database', '--json', '--verbose'], { DATABASE_URL: url.toString(), ONTIME_BACKUP_DIR: dir, PATH: `${wrapDir}:${process.env.PATH}` });
      assert.equal(res.code, 0, res.stderr + res.stdout);
      const cmdline = readFileSync(join(wrapDir, 'cmdline'), 'utf8');
      assert.match(cmdline, new RegExp(user));
      assert.doesNotMatch(cmdline, new RegExp(password));
      assert.equal(existsSync(join(wrapDir, 'env')), true, 'the password reached the tool through its environment');
      assert.doesNotMatch(res.stdout + res.stderr, new RegExp(password));
      const runs = await knex('job_runs').select();
      assert.doesNotMatch(JSON.stringify(runs), new RegExp(password));
      const audits = await knex('audit_log').select();
      assert.doesNotMatch(JSON.stringify(audits), new RegExp(password));
    } finally {
      if (db().name === 'postgres') await knex.raw(`DROP ROLE IF EXISTS ${user}`);
      else await knex.raw(`DROP USER IF EXISTS '${user}'@'%'`);
    }
  });

  test('SQLite: a backup taken while another process releases cases holds every row committed before it, and passes integrity_check', async (t) => {
    if (db().name !== 'sqlite') return t.skip('SQLite only');
    const file = new URL(db().url).pathname.replace(/^\/+/, '/');
    await addCases(5000, 'R');
    // The writer releases one case per transaction, as fast as it can, and says how many it has
    // committed each time.
    const writer = spawn(
      process.execPath,
      [
        '-e',
        `const D=require(${JSON.stringify(join(repoRoot, 'node_modules', 'better-sqlite3'))});const d=new D(${JSON.stringify(file)});d.pragma('journal_mode=WAL');d.pragma('busy_timeout=10000');
         const ids=d.prepare("SELECT id FROM cases WHERE status=10 ORDER BY id").all().map(r=>r.id);const u=d.prepare("UPDATE cases SET status=20, actual_release_date='2026-01-01 00:00:00' WHERE id=?");
         let n=0;for(const id of ids){u.run(id);n++;if(n%10===0)process.stdout.write(n+'\\n');}`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let committed = 0;
    const progressed = new Promise<void>((resolve) =>
      writer.stdout.on('data', (d: Buffer) => {
        committed = Math.max(committed, ...d.toString().trim().split('\n').map(Number));
        if (committed >= 100) resolve();
      }),
    );
    const exited = new Promise((resolve) => writer.on('close', resolve));
    await progressed;
    const releasedBefore = Number((await db().knex('cases').where({ status: 20 }).count({ n: '*' }).first())!.n);
    const dir = freshDir('online');
    const res = await backup(dir);
    await exited;
    assert.equal(res.code, 0, res.stderr + res.stdout);
    const Database = (await import(join(repoRoot, 'node_modules', 'better-sqlite3', 'lib', 'index.js'))).default;
    const copy = new Database(res.json.summary.file, { readonly: true, fileMustExist: true });
    try {
      assert.equal(copy.pragma('integrity_check', { simple: true }), 'ok');
      const released = copy.prepare('SELECT count(*) AS n FROM cases WHERE status = 20').get().n;
      assert.ok(released >= releasedBefore, `${released} released in the copy, ${releasedBefore} committed before it started`);
      assert.equal(copy.prepare('SELECT count(*) AS n FROM cases').get().n, 5000);
    } finally {
      copy.close();
    }
  });

  test('SQLite: restore-database needs --yes, refuses under a held lock, copies the current file aside, restores', async (t) => {
    if (db().name !== 'sqlite') return t.skip('SQLite only');
    const env = { DATABASE_URL: db().url };
    await addCases(10);
    const dir = freshDir('restore');
    const res = await backup(dir);
    assert.equal(res.code, 0, res.stderr);
    await db().knex('cases').del();
    await addCases(3, 'NEW');
    assert.equal((await runCli(['restore-database', res.json.summary.file], env)).code, 64);
    await db().knex('job_locks').insert({ name: 'job:x', holder: 'other-host:1', acquired_at: '2026-01-01 00:00:00', expires_at: '2999-01-01 00:00:00' });
    const refused = await runCli(['restore-database', res.json.summary.file, '--yes'], env);
    assert.equal(refused.code, 75, refused.stderr);
    assert.equal(await countCases(), 3);
    await db().knex('job_locks').del();
    const restored = await runCli(['restore-database', res.json.summary.file, '--yes', '--json'], env);
    assert.equal(restored.code, 0, restored.stderr + restored.stdout);
    const summary = JSON.parse(restored.stdout);
    assert.equal(await countCases(), 10);
    // The backup run's own lease and `running` row came back with the copy; both are settled.
    assert.equal((await db().knex('job_locks')).length, 0);
    assert.equal((await db().knex('job_runs').where({ status: 'running' })).length, 0);
    const Database = (await import(join(repoRoot, 'node_modules', 'better-sqlite3', 'lib', 'index.js'))).default;
    const aside = new Database(summary.previous, { readonly: true });
    assert.equal(aside.prepare('SELECT count(*) AS n FROM cases').get().n, 3);
    aside.close();
  });
});
