/** `ontime demo` in a fresh directory, with no configuration and no server. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawnCli } from '../helpers/cli.js';
import { jobs } from '../../src/registry.js';

test('demo works in an empty directory with no configuration, and starts fresh when run again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ontime-demo-'));
  const first = await spawnCli(['demo'], { DATABASE_URL: undefined }, { cwd: dir, timeoutMs: 120_000 });
  assert.ok(existsSync(join(dir, 'ontime-demo.sqlite3')));
  assert.match(first.stdout, /Created .*ontime-demo\.sqlite3 \(SQLite\), migrated it, and loaded example data/);
  assert.match(first.stdout, /Try next/);
  // Every scheduled job was run and is reported with its exit code; jobs not built yet say so.
  for (const def of jobs.filter((j) => j.schedule)) {
    assert.match(first.stdout, new RegExp(`=== ontime ${def.name} ===`));
    assert.match(first.stdout, new RegExp(`(ok|FAILED) +${def.name} +exit \\d+`));
  }
  assert.match(first.stdout, /ok +cleanup-survey-progress +exit 0 \(done\)/);
  assert.match(first.stdout, /Deleted 3 expired survey progress records/);
  const failed = [...first.stdout.matchAll(/FAILED +(\S+) +exit (\d+)[^\n]*/g)];
  if (failed.length === 0) assert.equal(first.code, 0, first.stdout + first.stderr);
  else {
    assert.notEqual(first.code, 0);
    for (const f of failed) assert.ok(f[0].includes(': '), `a failed job shows its message: ${f[0]}`);
  }

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
