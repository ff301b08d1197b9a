/**
 * The benchmark still runs end to end (tiny scale, SQLite only). It asserts that it completes and
 * writes a well-formed result, never how fast anything was.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'ontime-bench-smoke-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('scripts/bench.ts --scale 0.001 --db sqlite completes and writes its results', () => {
  const out = join(dir, 'bench-results.json');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bench.ts', '--db', 'sqlite', '--scale', '0.001', '--startup-runs', '10', '--out', out], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 180_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const results = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(results.scale, 0.001);
  const sqlite = results.databases.find((d: { name: string }) => d.name === 'sqlite');
  assert.ok(sqlite?.available, 'sqlite measured');
  const jobs = sqlite.jobs.map((j: { job: string }) => j.job).sort();
  assert.deepEqual(jobs, ['cleanup-survey-progress', 'process-data-governance', 'release-scheduled-cases', 'weekly-paid-update', 'weekly-pending-payment-update']);
  // The targets table has the ratio rows against raw SQL (lowest, geometric mean, longest transaction).
  const figures = results.targets.map((t: { figure: string }) => t.figure);
  assert.ok(figures.some((f: string) => f.startsWith('in-process ratio / raw SQL, lowest')), JSON.stringify(figures));
  assert.ok(figures.some((f: string) => f.startsWith('in-process ratio / raw SQL, geometric mean')), JSON.stringify(figures));
  for (const j of sqlite.jobs) {
    // Every job is either measured for real or reported as not built; a measured one did all its work.
    assert.ok(['ok', 'not implemented'].includes(j.status), `${j.job}: ${j.status} ${j.error ?? ''}`);
    if (j.status === 'ok') assert.equal(j.left, 0, `${j.job} left due items behind`);
    assert.equal(j.raw.items, j.due, `${j.job}: the raw baseline did the same work`);
  }
  assert.ok(results.startup.runs >= 10);
  assert.match(r.stdout, /Targets/);
  assert.match(r.stdout, /In-process ratio against raw SQL/);
});
