/** `ontime demo` in a fresh directory, with no configuration and no server. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { spawnCli } from '../helpers/cli.js';
import { jobs } from '../../src/registry.js';

test('demo works in an empty directory with no configuration, and starts fresh when run again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ontime-demo-'));
  const first = await spawnCli(['demo'], { DATABASE_URL: undefined }, { cwd: dir, timeoutMs: 120_000 });
  assert.ok(existsSync(join(dir, 'ontime-demo.sqlite3')));
  assert.match(first.stdout, /Created .*ontime-demo\.sqlite3 \(SQLite\), migrated it, and loaded example data/);
  assert.match(first.stdout, /Try next/);
  // Every scheduled job was run, did its work on the example data, and is reported as such.
  assert.equal(first.code, 0, first.stdout + first.stderr);
  for (const def of jobs.filter((j) => j.schedule)) {
    assert.match(first.stdout, new RegExp(`=== ontime ${def.name} ===`));
    assert.match(first.stdout, new RegExp(`ok +${def.name} +exit 0 \\(done\\)`));
  }
  assert.doesNotMatch(first.stdout, /FAILED/);
  assert.match(first.stdout, /Released: 2 cases/);
  assert.match(first.stdout, /Sent 3 deletion warnings/);
  assert.match(first.stdout, /Hard deleted: 1 surveys/);
  assert.match(first.stdout, /Deleted 3 expired survey progress records/);
  assert.match(first.stdout, /Cleared recipient, subject and body of 2 sent or failed messages/);
  assert.match(first.stdout, /Wrote .*ontime-demo-backups\/ontime-\d{8}T\d{6}\.\d{3}Z\.sqlite3 \(.*integrity_check ok\)/);
  assert.match(first.stdout, /Every job did its work: exit 0/);

  // Run again: fresh data, so the cleanup finds the same three expired rows again.
  const second = await spawnCli(['demo'], {}, { cwd: dir, timeoutMs: 120_000 });
  assert.match(second.stdout, /Deleted 3 expired survey progress records/);
  assert.equal(second.code, first.code);
});

test('demo ignores DATABASE_URL and never touches that database', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ontime-demo-'));
  writeFileSync(join(dir, 'real.sqlite3'), '');
  const r = await spawnCli(['demo'], { DATABASE_URL: 'postgres://nobody:secret@127.0.0.1:1/production' }, { cwd: dir, timeoutMs: 120_000 });
  assert.match(r.stderr, /the demo ignores DATABASE_URL and uses its own SQLite file/);
  assert.doesNotMatch(r.stdout + r.stderr, /secret/);
  assert.match(r.stdout, /ok +cleanup-survey-progress +exit 0/);
});

test('demo in a directory whose path holds "?" and "%41" writes its database there, and nowhere else', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'ontime-demo-')), 'odd?name%41#x');
  mkdirSync(dir);
  const r = await spawnCli(['demo'], {}, { cwd: dir, timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok(existsSync(join(dir, 'ontime-demo.sqlite3')));
  assert.deepEqual(readdirSync(dirname(dir)).sort(), ['odd?name%41#x']);
});

test('demo refuses to replace an existing ontime-demo.sqlite3 that is not a demo database', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ontime-demo-'));
  const file = join(dir, 'ontime-demo.sqlite3');
  writeFileSync(file, 'someone else\'s data');
  const r = await spawnCli(['demo'], {}, { cwd: dir, timeoutMs: 120_000 });
  assert.equal(r.code, 78);
  assert.match(r.stderr, /is not an ontime demo database; the demo will not replace it/);
  assert.equal(readFileSync(file, 'utf8'), 'someone else\'s data');
});
