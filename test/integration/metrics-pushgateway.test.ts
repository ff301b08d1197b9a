/**
 * Prometheus series pushed at the end of a run, read back from Debian's real
 * prometheus-pushgateway: values and labels of a run that succeeded, one that failed, the outbox
 * group; a dead gateway is a warning, never a failed job. On every database.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, beforeEach, describe, test } from 'node:test';
import { fromDbInstant } from '../../src/db/time.js';
import { parseExposition } from '../../src/metrics/exposition.js';
import type { Sample } from '../../src/metrics/series.js';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { DAY, insertMany, insertSurvey, progressRow } from '../helpers/fixtures.js';
import { pushgatewayBinary, startPushgateway, type Pushgateway } from '../helpers/pushgateway.js';
import { insertRun } from '../helpers/runs.js';
import { closedPort } from '../helpers/smtp.js';

const binary = pushgatewayBinary();
const HOST = hostname();

/** The one sample with this name whose labels include `labels`; undefined when there is none. */
function find(samples: Sample[], name: string, labels: Record<string, string>): Sample | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(found.length <= 1, `${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  return found[0];
}

function value(samples: Sample[], name: string, labels: Record<string, string>): number {
  const s = find(samples, name, labels);
  assert.ok(s, `no ${name} ${JSON.stringify(labels)}`);
  return s.value;
}

describe('metrics pushed to a Pushgateway', { skip: binary.problem ?? false }, () => {
  let gateway: Pushgateway;
  before(async () => {
    gateway = await startPushgateway(binary.path!);
  });
  after(async () => {
    await gateway?.stop();
  });

  forEachDatabase('pushgateway', (db) => {
    const env = (extra: Record<string, string> = {}) => ({ DATABASE_URL: db().url, ONTIME_METRICS_PUSHGATEWAY: gateway.url, ...extra });
    const pushed = async () => parseExposition(await gateway.metrics());

    beforeEach(async () => {
      await db().reset();
      await gateway.wipe();
    });

    test('a run that succeeded: duration, items by outcome, exit code, timestamps, lock skips, outbox', async () => {
      const { knex, dialect } = db();
      const surveyId = await insertSurvey(knex, dialect);
      const now = Date.now();
      await insertMany(knex, 'survey_progress', [1, 2, 3].map((n) => progressRow(dialect, { survey_id: surveyId, user_id: n, expires_at: new Date(now - DAY) })));
      const lockHeld = { reason: 'lock held', holder: 'other-host:1' };
      for (let i = 0; i < 2; i++) {
        await insertRun(knex, dialect, { job: 'cleanup-survey-progress', startedAt: new Date(now - 3600_000), finishedAt: new Date(now - 3600_000), status: 'skipped', exitCode: 0, summary: lockHeld });
      }
      await insertRun(knex, dialect, { job: 'cleanup-survey-progress', startedAt: new Date(now - 7200_000), finishedAt: new Date(now - 7200_000), status: 'skipped', exitCode: 0, summary: { reason: 'disabled' } });
      const outbox = (key: string, kind: string, status: string) => ({ dedupe_key: key, kind, to_address: 'someone@example.test', subject: 's', status });
      await knex('email_outbox').insert([
        outbox('a', 'case-notification', 'pending'),
        outbox('b', 'case-notification', 'sending'),
        outbox('c', 'case-notification', 'failed'),
        outbox('d', 'deletion-warning', 'sent'),
      ]);

      const before = Date.now() / 1000;
      const res = await runCli(['cleanup-survey-progress'], env());
      const after = Date.now() / 1000;
      assert.equal(res.code, 0, res.stderr);
      assert.doesNotMatch(res.stderr, /warning/);

      const samples = await pushed();
      const labels = { job: 'cleanup-survey-progress', instance: HOST };
      assert.equal(value(samples, 'ontime_run_exit_code', labels), 0);
      assert.equal(value(samples, 'ontime_run_items_total', { ...labels, outcome: 'deleted' }), 3);
      assert.equal(value(samples, 'ontime_run_items_total', { ...labels, outcome: 'authenticated' }), 3);
      assert.equal(find(samples, 'ontime_run_items_total', { ...labels, outcome: 'batches' }), undefined);
      const lastRun = value(samples, 'ontime_run_last_run_timestamp_seconds', labels);
      assert.ok(lastRun >= before && lastRun <= after, `${lastRun} not in [${before}, ${after}]`);
      assert.equal(value(samples, 'ontime_run_last_success_timestamp_seconds', labels), lastRun);
      const duration = value(samples, 'ontime_run_duration_seconds', labels);
      assert.ok(duration > 0 && duration <= after - before, String(duration));
      const row = await knex('job_runs').where({ job: 'cleanup-survey-progress', status: 'succeeded' }).first();
      const recorded = (fromDbInstant(row.finished_at)!.getTime() - fromDbInstant(row.started_at)!.getTime()) / 1000;
      // Measured from the row's start to the end of the run's last step: never shorter than the row says.
      assert.ok(duration + 0.002 >= recorded, `${duration} vs job_runs ${recorded}`);
      assert.equal(value(samples, 'ontime_lock_skipped_total', labels), 2);

      const group = { job: 'ontime_outbox' };
      assert.equal(value(samples, 'ontime_outbox_pending', { ...group, kind: 'case-notification' }), 2);
      assert.equal(value(samples, 'ontime_outbox_failed', { ...group, kind: 'case-notification' }), 1);
      assert.equal(value(samples, 'ontime_outbox_pending', { ...group, kind: 'deletion-warning' }), 0);
      assert.equal(value(samples, 'ontime_outbox_failed', { ...group, kind: 'deletion-warning' }), 0);
    });

    test('a failed run: its exit code, no last success; another job keeps its own group', async () => {
      const { knex } = db();
      const ok = await runCli(['release-scheduled-cases'], env());
      assert.equal(ok.code, 0, ok.stderr);
      await knex('cases').insert({ reference: 'C-1', title: 't', status: 10, contact_name: 'n', contact_email: 'x@example.test', scheduled_email_date: '2020-01-01' });
      const failed = await runCli(['send-scheduled-emails'], env({ EMAIL_HOST: '127.0.0.1', EMAIL_PORT: String(await closedPort()), SITE_URL: 'https://x.example' }));
      assert.equal(failed.code, 69, failed.stderr);

      const samples = await pushed();
      const labels = { job: 'send-scheduled-emails', instance: HOST };
      assert.equal(value(samples, 'ontime_run_exit_code', labels), 69);
      assert.equal(find(samples, 'ontime_run_last_success_timestamp_seconds', labels), undefined);
      assert.ok(value(samples, 'ontime_run_last_run_timestamp_seconds', labels) > 0);
      assert.equal(value(samples, 'ontime_run_exit_code', { job: 'release-scheduled-cases', instance: HOST }), 0);
      assert.ok(value(samples, 'ontime_run_last_success_timestamp_seconds', { job: 'release-scheduled-cases', instance: HOST }) > 0);
    });

    test('a dry run pushes nothing; a gateway that does not answer is a warning and exit 0', async () => {
      const dry = await runCli(['release-scheduled-cases', '--dry-run'], env());
      assert.equal(dry.code, 0, dry.stderr);
      assert.equal(find(await pushed(), 'ontime_run_exit_code', { job: 'release-scheduled-cases' }), undefined);

      const res = await runCli(['release-scheduled-cases'], env({ ONTIME_METRICS_PUSHGATEWAY: `http://127.0.0.1:${await closedPort()}` }));
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stderr, /warning: metrics: pushing to http:\/\/127\.0\.0\.1:\d+: fetch failed: ECONNREFUSED \(the run itself is not affected\)/);
      assert.equal((await db().knex('job_runs').where({ job: 'release-scheduled-cases' }).first()).status, 'succeeded');
    });
  });
});
