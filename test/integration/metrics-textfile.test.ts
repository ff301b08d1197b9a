/**
 * ONTIME_METRICS_TEXTFILE after real runs of two jobs (node_exporter's textfile collector), and
 * `ontime metrics`, on every database: valid exposition format, both jobs side by side.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, test } from 'node:test';
import { parseExposition } from '../../src/metrics/exposition.js';
import type { Sample } from '../../src/metrics/series.js';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { DAY, insertMany, insertSurvey, progressRow } from '../helpers/fixtures.js';

const JOBS = ['cleanup-survey-progress', 'release-scheduled-cases'];
const EVERY_LINE = /^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\} -?[0-9.e+]+)$/;

const byJob = (samples: Sample[], name: string) =>
  Object.fromEntries(samples.filter((s) => s.name === name && !s.labels.outcome).map((s) => [s.labels.job, s.value]));

forEachDatabase('metrics textfile and ontime metrics', (db) => {
  const dir = mkdtempSync(join(tmpdir(), 'ontime-textfile-'));
  const file = join(dir, 'ontime.prom');
  const env = (extra: Record<string, string> = {}) => ({ DATABASE_URL: db().url, ONTIME_METRICS_TEXTFILE: file, ...extra });

  beforeEach(async () => {
    await db().reset();
    rmSync(file, { force: true });
  });

  test("two jobs' series side by side in the file, every line valid; a second run replaces its job's", async () => {
    const { knex, dialect } = db();
    const surveyId = await insertSurvey(knex, dialect);
    await insertMany(knex, 'survey_progress', [1, 2].map((n) => progressRow(dialect, { survey_id: surveyId, user_id: n, expires_at: new Date(Date.now() - DAY) })));
    for (const job of [...JOBS, JOBS[0]!]) {
      const res = await runCli([job], env());
      assert.equal(res.code, 0, res.stderr);
      assert.doesNotMatch(res.stderr, /warning/);
    }
    const text = readFileSync(file, 'utf8');
    for (const line of text.trimEnd().split('\n')) assert.match(line, EVERY_LINE);
    const samples = parseExposition(text);
    assert.deepEqual(byJob(samples, 'ontime_run_exit_code'), { [JOBS[0]!]: 0, [JOBS[1]!]: 0 });
    // The second cleanup run found nothing left: its series replaced the first run's.
    const deleted = samples.filter((s) => s.name === 'ontime_run_items_total' && s.labels.outcome === 'deleted');
    assert.deepEqual(deleted.map((s) => s.value), [0]);
    assert.equal(samples.filter((s) => s.name === 'ontime_run_items_total' && s.labels.job === JOBS[1] && s.labels.outcome === 'released').length, 1);
  });

  test('ontime metrics prints the latest run of every job from job_runs, JSON log format or not', async () => {
    const { knex, dialect } = db();
    const surveyId = await insertSurvey(knex, dialect);
    await insertMany(knex, 'survey_progress', [1, 2].map((n) => progressRow(dialect, { survey_id: surveyId, user_id: n, expires_at: new Date(Date.now() - DAY) })));
    for (const job of JOBS) assert.equal((await runCli([job], env())).code, 0);
    const fromFile = parseExposition(readFileSync(file, 'utf8'));

    const res = await runCli(['metrics'], { DATABASE_URL: db().url, ONTIME_LOG_FORMAT: 'json' });
    assert.equal(res.code, 0, res.stderr);
    for (const line of res.stdout.trimEnd().split('\n')) assert.match(line, EVERY_LINE);
    const printed = parseExposition(res.stdout);
    assert.deepEqual(byJob(printed, 'ontime_run_exit_code'), byJob(fromFile, 'ontime_run_exit_code'));
    const items = (samples: Sample[]) => samples.filter((s) => s.name === 'ontime_run_items_total').map((s) => `${s.labels.job}/${s.labels.outcome}=${s.value}`).sort();
    assert.deepEqual(items(printed), items(fromFile));
    assert.ok(items(printed).includes(`${JOBS[0]}/deleted=2`));
    const lastRun = byJob(printed, 'ontime_run_last_run_timestamp_seconds');
    for (const [job, at] of Object.entries(byJob(fromFile, 'ontime_run_last_run_timestamp_seconds'))) {
      // job_runs' end is written just before the run's own last step.
      assert.ok(lastRun[job]! > 0 && lastRun[job]! <= at + 0.002, `${job}: ${lastRun[job]} vs ${at}`);
    }
    // A job that never ran has no series at all (not zeros that look like a success).
    assert.equal(printed.filter((s) => s.labels.job === 'send-scheduled-emails').length, 0);

    // `ontime status --prometheus` prints the same series.
    const status = await runCli(['status', '--prometheus'], { DATABASE_URL: db().url });
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual(items(parseExposition(status.stdout)), items(printed));
  });
});
