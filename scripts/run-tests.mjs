#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's built-in test runner (TypeScript through tsx).
// Which databases: ONTIME_TEST_DBS (default sqlite,postgres,mysql). Under CI=true all named
// databases are required. Extra arguments are passed to node --test (e.g. a file to run alone).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const explicit = args.filter((a) => a.endsWith('.ts'));
const passThrough = args.filter((a) => !a.endsWith('.ts'));

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return name === 'helpers' ? [] : find(full);
    return name.endsWith('.test.ts') ? [full] : [];
  });
}

const files = explicit.length ? explicit : find(join(root, 'test')).map((f) => relative(root, f)).sort();
const dbs = process.env.ONTIME_TEST_DBS ?? 'sqlite,postgres,mysql';
console.log(`ontime tests: ${files.length} files on ${dbs}${process.env.CI === 'true' ? ' (CI: all required)' : ''}`);
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=${process.env.ONTIME_TEST_CONCURRENCY ?? 2}`, ...passThrough, ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, ONTIME_TEST_DBS: dbs } },
);
process.exit(result.status ?? 1);
