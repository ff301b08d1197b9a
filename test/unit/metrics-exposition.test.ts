/** The exposition format written and read back, the outcome counts of a summary, and the textfile's atomic merge. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ExpositionError, parseExposition, renderExposition } from '../../src/metrics/exposition.js';
import { itemOutcomes, runSeries, type Sample } from '../../src/metrics/series.js';
import { writeTextfile } from '../../src/metrics/textfile.js';

const facts = (job: string, extra: Record<string, number> = {}, shard?: string) =>
  runSeries({
    job,
    shard,
    exitCode: 0,
    startedAt: new Date('2026-11-23T02:00:00Z'),
    finishedAt: new Date('2026-11-23T02:00:02.5Z'),
    summary: { deleted: 4, batches: 1, limited: false, olderThanDays: 30, ...extra },
    lastSuccessAt: new Date('2026-11-23T02:00:02.5Z'),
    lockSkipped: 1,
  });

describe('exposition format', () => {
  test('renders HELP and TYPE once per family and parses back to the same samples', () => {
    const samples: Sample[] = [...facts('a'), ...facts('b'), { name: 'ontime_outbox_pending', labels: { kind: 'we"ird\\kind\nx' }, value: 3 }];
    const text = renderExposition(samples);
    assert.equal(text.match(/^# TYPE ontime_run_exit_code gauge$/gm)?.length, 1);
    assert.equal(text.match(/^# TYPE ontime_lock_skipped_total counter$/gm)?.length, 1);
    assert.match(text, /^ontime_run_duration_seconds\{job="a"\} 2\.5$/m);
    assert.match(text, /^ontime_outbox_pending\{kind="we\\"ird\\\\kind\\nx"\} 3$/m);
    const back = parseExposition(text);
    assert.equal(back.length, samples.length);
    for (const s of samples) assert.ok(back.some((b) => JSON.stringify(b) === JSON.stringify(s)), JSON.stringify(s));
  });

  test('rejects what is not exposition format', () => {
    for (const bad of ['ontime_x{job="a} 1', 'ontime_x 1 2 3', '9bad 1', 'ontime_x{job=a} 1', 'ontime_x', 'ontime_x one']) {
      assert.throws(() => parseExposition(bad), ExpositionError, bad);
    }
    assert.deepEqual(parseExposition('# a comment\nx{a="1",} +Inf 1700000000000\n'), [{ name: 'x', labels: { a: '1' }, value: Infinity }]);
  });

  test('item outcomes: whole counts of the summary, not settings or batches; failed from the result', () => {
    assert.deepEqual(itemOutcomes({ moved: 3, leftAlone: 0, batches: 2, from: 10, to: 20, olderThanDays: 7, limited: true, backend: 'smtp', ratio: 0.5 }, 2), {
      moved: 3,
      leftAlone: 0,
      failed: 2,
    });
    assert.deepEqual(itemOutcomes({ sent: 1, failed: 4 }, 9), { sent: 1, failed: 4 });
  });
});

describe('textfile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ontime-prom-'));

  test("keeps other jobs' series and foreign lines that parse, replaces this job's, shard by shard", async () => {
    const file = join(dir, 'merge.prom');
    writeFileSync(file, '# HELP node_custom Something else.\nnode_custom{x="y"} 7\nthis line is broken\n');
    await writeTextfile(file, facts('a'));
    await writeTextfile(file, facts('b'));
    await writeTextfile(file, facts('a', { deleted: 9 }));
    await writeTextfile(file, facts('a', { deleted: 0 }, 's2'));
    const text = readFileSync(file, 'utf8');
    const samples = parseExposition(text);
    assert.equal(samples.filter((s) => s.name === 'ontime_run_exit_code').length, 3);
    const deleted = (job: string, shard?: string) =>
      samples.filter((s) => s.name === 'ontime_run_items_total' && s.labels.job === job && s.labels.shard === shard && s.labels.outcome === 'deleted').map((s) => s.value);
    assert.deepEqual(deleted('a'), [9]);
    assert.deepEqual(deleted('b'), [4]);
    assert.deepEqual(deleted('a', 's2'), [0]);
    assert.ok(samples.some((s) => s.name === 'node_custom' && s.value === 7));
    assert.doesNotMatch(text, /broken/);
  });

  test('two jobs writing at the same moment both land', async () => {
    const file = join(dir, 'race.prom');
    for (let round = 0; round < 10; round++) {
      await Promise.all([writeTextfile(file, facts('a', { deleted: round })), writeTextfile(file, facts('b', { deleted: round }))]);
    }
    const samples = parseExposition(readFileSync(file, 'utf8'));
    assert.deepEqual(samples.filter((s) => s.name === 'ontime_run_exit_code').map((s) => s.labels.job).sort(), ['a', 'b']);
  });

  test('a reader looping during 50 writes never sees a half-written file', async () => {
    const file = join(dir, 'atomic.prom');
    const stopFile = join(dir, 'stop');
    // Large files (thousands of lines), so a write in place would be seen in pieces.
    const many = (round: number) =>
      Array.from({ length: 1500 }, (_, i): Sample => ({ name: 'ontime_run_items_total', labels: { job: 'big', outcome: `o${i}` }, value: round }));
    await writeTextfile(file, facts('other'));
    await writeTextfile(file, many(0));
    const expected = parseExposition(readFileSync(file, 'utf8')).length;
    const readerSource = `
      const { readFileSync, existsSync } = require('node:fs');
      const sample = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\\{[^}]*\\})? \\S+$/;
      let reads = 0, bad = [];
      while (!existsSync(${JSON.stringify(stopFile)})) {
        const text = readFileSync(${JSON.stringify(file)}, 'utf8');
        reads++;
        const lines = text.split('\\n');
        const samples = lines.filter((l) => l && !l.startsWith('#'));
        if (!text.endsWith('\\n') || samples.length !== ${expected} || samples.some((l) => !sample.test(l))) bad.push(text.length);
      }
      process.stdout.write(JSON.stringify({ reads, bad }));`;
    const reader = spawn(process.execPath, ['-e', readerSource], { stdio: ['ignore', 'pipe', 'inherit'] });
    let report = '';
    reader.stdout.on('data', (d) => (report += d));
    const done = new Promise((res) => reader.on('close', res));
    for (let round = 1; round <= 50; round++) await writeTextfile(file, many(round));
    writeFileSync(stopFile, '');
    await done;
    const { reads, bad } = JSON.parse(report) as { reads: number; bad: number[] };
    assert.ok(reads > 0, 'the reader never read');
    assert.deepEqual(bad, [], `${bad.length} of ${reads} reads saw a partial file`);
    const final = parseExposition(readFileSync(file, 'utf8'));
    assert.ok(final.filter((s) => s.labels.job === 'big').every((s) => s.value === 50));
    assert.ok(final.some((s) => s.labels.job === 'other'));
  });
});
