/**
 * How bin/ontime starts: from the esbuild bundle (dist/bundle/, scripts/build-bundle.mjs), and
 * without knex, a driver or nodemailer for commands that need no database or mail. Spawns real
 * processes with a preload that records every module they load. Needs `npm run build` (tsc and
 * the bundle); `npm test` does it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { binPath, emptyCwd, repoRoot, testEnv } from '../helpers/cli.js';

const recorder = join(repoRoot, 'test', 'helpers', 'record-modules.mjs');
const bundleEntry = join(repoRoot, 'dist', 'bundle', 'ontime.js');
/** knex, the drivers and nodemailer: as packages from node_modules, or as the bundle's lazy chunks. */
const HEAVY = /node_modules\/(knex|pg|pg-protocol|mysql2|better-sqlite3|nodemailer)\/|dist\/bundle\/chunks\/(knex|nodemailer)-/;

function runRecorded(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; modules: string[] } {
  const file = join(mkdtempSync(join(tmpdir(), 'ontime-modules-')), 'modules.txt');
  const r = spawnSync(process.execPath, ['--import', recorder, binPath, ...args], {
    cwd: emptyCwd,
    env: testEnv({ ONTIME_TEST_MODULES_FILE: file, ...env }),
    encoding: 'utf8',
  });
  const modules = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  return { code: r.status, stdout: r.stdout, modules };
}

describe('start-up', () => {
  test('the bundle is built and not older than tsc output (npm run build)', () => {
    assert.ok(statSync(bundleEntry).mtimeMs >= statSync(join(repoRoot, 'dist', 'cli.js')).mtimeMs, 'dist/bundle is stale: run `npm run build`');
  });

  test('bin/ontime starts from the bundle, and --help / --version answer from it', () => {
    for (const args of [['--help'], ['--version'], ['cleanup-survey-progress', '--help']]) {
      const r = runRecorded(args);
      assert.equal(r.code, 0, args.join(' '));
      assert.ok(r.modules.some((m) => m.endsWith('/dist/bundle/ontime.js')), `${args.join(' ')} did not start from the bundle`);
      assert.ok(!r.modules.some((m) => m.endsWith('/dist/cli.js')), `${args.join(' ')} loaded tsc's dist/cli.js too`);
    }
    const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version as string;
    assert.equal(runRecorded(['--version']).stdout.trim(), version);
    assert.match(runRecorded(['--help']).stdout, /^ {2}cleanup-survey-progress\|cleanup_survey_progress \[options\]/m);
  });

  test('--help, --version and a job\'s --help load no knex, driver or nodemailer', () => {
    for (const args of [['--help'], ['--version'], ['cleanup-survey-progress', '--help'], ['send-scheduled-emails', '--help'], ['export', '--help']]) {
      const r = runRecorded(args);
      assert.equal(r.code, 0);
      assert.deepEqual(r.modules.filter((m) => HEAVY.test(m)), [], args.join(' '));
    }
  });

  test('the same check sees knex and the driver when a job runs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ontime-startup-'));
    // Not migrated: the run stops with 78, after it has connected through knex.
    const r = runRecorded(['cleanup-survey-progress'], { DATABASE_URL: `sqlite:///${join(dir, 'x.sqlite3').replace(/^\//, '')}` });
    assert.equal(r.code, 78);
    assert.ok(r.modules.some((m) => /dist\/bundle\/chunks\/knex-/.test(m)), 'the knex chunk was not recorded');
    assert.ok(r.modules.some((m) => /node_modules\/better-sqlite3\//.test(m)), 'the driver was not recorded');
  });
});
