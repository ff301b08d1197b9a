/**
 * `ontime status` and its HTML page: built from the demo's example data after every scheduled job
 * ran, read back in headless Chromium (no request to any other origin, a screenshot written), a
 * failed run's error on it, the page refreshed by run-due through ONTIME_STATUS_HTML, and a reader
 * that never sees half a page while it is rewritten.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, beforeEach, test } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { browserMissing, launchBrowser } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { onlyEnable } from '../helpers/runs.js';
import { closedPort } from '../helpers/smtp.js';
import { loadDemoData } from '../../src/db/demo-data.js';
import { loadConfig } from '../../src/config.js';
import { toDbInstant } from '../../src/db/time.js';
import { writeStatusPage } from '../../src/status/refresh.js';
import { jobs } from '../../src/registry.js';

const skipBrowser = browserMissing();
let browser: BrowserContext | undefined;
before(async () => {
  if (!skipBrowser) browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Open the page in Chromium; every request it makes is recorded. */
async function openPage(file: string) {
  const page = await browser!.newPage();
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(file).href);
  return { page, requests };
}

forEachDatabase('status page', (db) => {
  const dir = mkdtempSync(join(tmpdir(), 'ontime-status-'));
  const env = (extra: Record<string, string> = {}) => ({
    DATABASE_URL: db().url,
    EMAIL_BACKEND: 'file',
    EMAIL_FILE_PATH: join(dir, 'mail'),
    ...extra,
  });

  beforeEach(async () => {
    await db().reset();
  });

  async function demoRuns(): Promise<void> {
    await loadDemoData(db().knex, db().dialect, new Date());
    for (const def of jobs.filter((j) => j.schedule)) {
      const r = await runCli([def.name], env());
      assert.equal(r.code, 0, `${def.name}: ${r.stderr}`);
    }
  }

  test('after the demo runs: text, JSON and a page in Chromium with every job and its strip, no other origin', { skip: skipBrowser ?? false }, async () => {
    await demoRuns();
    const text = await runCli(['status'], env());
    assert.equal(text.code, 0, text.stderr);
    for (const def of jobs) assert.match(text.stdout, new RegExp(`^${def.name} `, 'm'));
    assert.match(text.stdout, /^Check: ONTIME OK/m);

    const json = await runCli(['status', '--json'], env());
    const model = JSON.parse(json.stdout);
    assert.deepEqual(model.jobs.map((j: { name: string }) => j.name), jobs.map((j) => j.name));
    for (const j of model.jobs) assert.equal(j.recentRuns.length, j.schedule ? 1 : 0, j.name);
    assert.equal(model.check.status, 'OK');

    const file = join(dir, `demo-${db().name}.html`);
    const written = await runCli(['status', '--html', file], env());
    assert.equal(written.code, 0, written.stderr);
    const { page, requests } = await openPage(file);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal(await page.title(), 'ontime status');
    const rowHeaders = await page.locator('#jobs + table tbody th[scope="row"]').allTextContents();
    assert.deepEqual(rowHeaders, jobs.map((j) => j.name));
    // One strip per job: one square per run, each with its status in words, not only in colour.
    const strips = page.locator('ol.strip');
    assert.equal(await strips.count(), jobs.filter((j) => j.schedule).length);
    const squares = await page.locator('ol.strip li').evaluateAll((els) => els.map((el) => [el.className, el.getAttribute('title'), el.textContent]));
    for (const [cls, title, content] of squares) {
      assert.equal(cls, 's-succeeded');
      assert.match(title!, /^run #\d+, succeeded \(exit 0\), started .*, took \d+/);
      assert.match(content!, /^✓run #\d+, succeeded/);
    }
    assert.ok(await page.locator('text=Generated').isVisible());
    const shot = join(dir, `status-${db().name}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000);
    assert.deepEqual(readFileSync(shot).subarray(0, 4), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    await page.close();
    // Only the page itself was loaded: no script, style, font or image from anywhere else.
    assert.deepEqual(requests, [pathToFileURL(file).href]);
  });

  test('a failed run (SMTP unreachable) shows with its error on the page', { skip: skipBrowser ?? false }, async () => {
    await loadDemoData(db().knex, db().dialect, new Date());
    const port = await closedPort();
    const failed = await runCli(['send-scheduled-emails'], { DATABASE_URL: db().url, EMAIL_HOST: '127.0.0.1', EMAIL_PORT: String(port) });
    assert.equal(failed.code, 69, failed.stdout + failed.stderr);
    const run = await db().knex('job_runs').where({ job: 'send-scheduled-emails' }).first();
    assert.equal(run.status, 'failed');
    // The job stopped by itself with exit 69; its summary names the mail problem.
    const errorLine = String(run.error ?? JSON.parse(run.summary).stoppedBy ?? JSON.parse(run.summary).mailProblem).split('\n')[0]!;
    assert.ok(errorLine.length > 10);

    const text = await runCli(['status'], env());
    assert.ok(text.stdout.includes(`send-scheduled-emails failed (exit 69) at`), text.stdout);
    assert.ok(text.stdout.includes(errorLine));

    const file = join(dir, `failed-${db().name}.html`);
    assert.equal((await runCli(['status', '--html', file], env())).code, 0);
    const { page } = await openPage(file);
    const problems = page.locator('#problems + table');
    assert.ok(await problems.isVisible());
    assert.ok((await problems.textContent())!.includes(errorLine));
    assert.match((await problems.textContent())!, /✗ failed \(exit 69\)/);
    assert.equal(await page.locator('ol.strip li.s-failed').count(), 1);
    await page.close();
  });

  test('run-due refreshes ONTIME_STATUS_HTML after its pass; an unwritable path is only a warning', async () => {
    await onlyEnable(db().knex, ['cleanup-survey-progress']);
    const file = join(dir, `run-due-${db().name}.html`);
    writeFileSync(file, 'old page');
    const r = await runCli(['run-due', '--now', '2026-11-20T03:00:40Z'], env({ ONTIME_STATUS_HTML: file }));
    assert.equal(r.code, 0, r.stderr);
    const page = readFileSync(file, 'utf8');
    assert.match(page, /^<!DOCTYPE html>/);
    const id = (await db().knex('job_runs').first('id')).id;
    assert.match(page, new RegExp(`run #${id}, succeeded \\(exit 0\\)`));

    const blocked = await runCli(['cleanup-survey-progress'], env({ ONTIME_STATUS_HTML: join(dir, 'no-such-dir', 'status.html') }));
    assert.equal(blocked.code, 0);
    assert.match(blocked.stderr, /status page .* was not refreshed: .*the run's result is unchanged/);
    const last = await db().knex('job_runs').orderBy('id', 'desc').first();
    assert.equal(last.status, 'succeeded');
  });

  test('a reader looping while the page is rewritten 50 times only ever reads a whole page', async () => {
    await loadDemoData(db().knex, db().dialect, new Date());
    const file = join(dir, `loop-${db().name}.html`);
    const stop = join(dir, `loop-${db().name}.stop`);
    const config = loadConfig({ DATABASE_URL: db().url }, dir);
    await writeStatusPage(db().knex, config, file);
    const reader = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('fs'); let reads = 0, torn = 0;
         while (!fs.existsSync(process.argv[2])) {
           const t = fs.readFileSync(process.argv[1], 'utf8'); reads++;
           if (!t.startsWith('<!DOCTYPE html>') || !t.endsWith('</html>\\n')) torn++;
         }
         console.log(JSON.stringify({ reads, torn }));`,
        file,
        stop,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    reader.stdout.on('data', (d) => (output += d));
    const done = new Promise<void>((res) => reader.on('exit', () => res()));
    for (let i = 0; i < 50; i++) await writeStatusPage(db().knex, config, file, new Date(Date.UTC(2026, 10, 20, 3, 0, i)));
    writeFileSync(stop, '');
    await done;
    const { reads, torn } = JSON.parse(output);
    assert.ok(reads > 0);
    assert.equal(torn, 0, `${torn} of ${reads} reads saw a partial page`);
    assert.match(readFileSync(file, 'utf8'), /2026-11-20 03:00:49 UTC/);
    assert.ok(!existsSync(`${file}.tmp`));
  });

  test('the page escapes what it shows', async () => {
    const file = join(dir, `escape-${db().name}.html`);
    await db().knex('job_runs').insert({
      job: 'cleanup-survey-progress', trigger: 'cli', started_at: toDbInstant(db().dialect, new Date('2026-11-20T03:00:00Z')),
      finished_at: toDbInstant(db().dialect, new Date('2026-11-20T03:00:01Z')),
      status: 'failed', exit_code: 70, host: 'h', pid: 1, summary: '{}', error: '<script>alert("x")</script> & more',
    });
    assert.equal((await runCli(['status', '--html', file], env())).code, 0);
    const html = readFileSync(file, 'utf8');
    assert.ok(!html.includes('<script>'));
    assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more'));
  });
});
