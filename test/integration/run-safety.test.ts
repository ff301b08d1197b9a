/**
 * Run safety in one process: job_runs rows, held locks (lease and advisory), takeover of an old
 * lease, owner-only unlock, schedule slots, disabled jobs, --timeout, history, locks, pings,
 * failure alerts, and no secrets anywhere. The multi-process tests are in test/e2e.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { closedPort, startSmtpServer, type TestSmtpServer } from '../helpers/smtp.js';
import { JOB, progressCount, runRows, seedProgress, slowBatches } from '../helpers/run-safety.js';
import { toDbInstant } from '../../src/db/time.js';
import { lockName, releaseAdvisoryLock, tryAdvisoryLock } from '../../src/db/locks.js';
import { acquireJobLock } from '../../src/runner/locks.js';

interface PingServer {
  url: string;
  paths: string[];
  status: number;
  close(): Promise<void>;
}

async function startPingServer(): Promise<PingServer> {
  const state: PingServer = { url: '', paths: [], status: 200, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    state.paths.push(req.url ?? '');
    res.statusCode = state.status;
    res.end('OK');
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () => new Promise<void>((res) => server.close(() => res()));
  return state;
}

forEachDatabase('run safety', (db) => {
  const env = (extra: Record<string, string> = {}) => ({ DATABASE_URL: db().url, ...extra });
  let ping: PingServer;
  let smtp: TestSmtpServer;

  before(async () => {
    ping = await startPingServer();
    smtp = await startSmtpServer();
  });
  after(async () => {
    await ping.close();
    await smtp.close();
  });
  beforeEach(async () => {
    await db().reset();
    ping.paths.length = 0;
    ping.status = 200;
    smtp.messages.length = 0;
  });

  test('a real run records a finished job_runs row; a dry run records none', async () => {
    const { knex, dialect } = db();
    await seedProgress(knex, dialect, 3);
    const dry = await runCli([JOB, '--dry-run'], env());
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal((await runRows(knex)).length, 0);
    const real = await runCli([JOB], env());
    assert.equal(real.code, 0, real.stderr);
    const [row, ...rest] = await runRows(knex);
    assert.equal(rest.length, 0);
    assert.equal(row!.status, 'succeeded');
    assert.equal(row!.exit_code, 0);
    assert.equal(row!.trigger, 'cli');
    assert.equal(row!.pid, process.pid);
    assert.ok(row!.host);
    assert.ok(row!.finished_at);
    assert.equal(row!.summary.deleted, 3);
    assert.equal(await knex('job_locks').count({ n: '*' }).first().then((r) => Number(r?.n)), 0, 'the lease is released');
  });

  test('a held lease: the run is skipped, names the holder, exits 0 and changes nothing', async () => {
    const { knex, dialect } = db();
    await seedProgress(knex, dialect, 3);
    const until = toDbInstant(dialect, new Date(Date.now() + 3_600_000));
    await knex('job_locks').insert({ name: lockName(JOB), holder: 'other-host pid 99 #abcdef', run_id: null, acquired_at: toDbInstant(dialect, new Date()), expires_at: until });
    const r = await runCli([JOB], env({ ONTIME_LOCK: 'table' }));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /already running \(lock held by other-host pid 99/);
    assert.equal(await progressCount(knex), 5);
    const [row] = await runRows(knex);
    assert.equal(row!.status, 'skipped');
    assert.equal(row!.exit_code, 0);
    assert.match(row!.summary.holder, /other-host pid 99/);
    assert.equal(row!.summary.reason, 'lock held');
  });

  {
    test('a held advisory lock (PostgreSQL, MariaDB): the run is skipped and names the holder', async () => {
      const { knex, dialect } = db();
      if (dialect === 'sqlite') return; // SQLite has no advisory locks: leases are tested above
      await seedProgress(knex, dialect, 2);
      const client = knex.client as any;
      const conn = await client.acquireConnection();
      try {
        assert.equal(await tryAdvisoryLock(knex, dialect, conn, JOB), true);
        const listed = await runCli(['locks', '--json'], env());
        const locks = JSON.parse(listed.stdout);
        assert.equal(locks.kind, 'advisory');
        assert.deepEqual(locks.advisory.map((a: any) => a.job), [JOB]);
        const r = await runCli([JOB], env());
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /already running/);
        const [row] = await runRows(knex);
        assert.equal(row!.status, 'skipped');
        assert.match(row!.summary.holder, /PostgreSQL backend pid \d+|MariaDB\/MySQL connection \d+/);
        assert.equal(await progressCount(knex), 4);
      } finally {
        await releaseAdvisoryLock(knex, dialect, conn, JOB);
        await client.releaseConnection(conn);
      }
      const again = await runCli([JOB], env());
      assert.equal(again.code, 0, again.stderr);
      assert.equal(await progressCount(knex), 2);
    });
  }

  test('a lease row from a day ago is taken over, and the run it belonged to is marked abandoned', async () => {
    const { knex, dialect } = db();
    await seedProgress(knex, dialect, 2);
    const dayAgo = new Date(Date.now() - 86_400_000);
    const [old] = await knex('job_runs').insert({ job: JOB, trigger: 'cli', started_at: toDbInstant(dialect, dayAgo), status: 'running', host: 'dead-host', pid: 1, summary: '{}' }).returning('id');
    const oldId = typeof old === 'object' ? Number((old as any).id) : Number(old);
    await knex('job_locks').insert({ name: lockName(JOB), holder: 'dead-host pid 1 #000000', run_id: oldId, acquired_at: toDbInstant(dialect, dayAgo), expires_at: toDbInstant(dialect, new Date(dayAgo.getTime() + 60_000)) });
    const r = await runCli([JOB], env({ ONTIME_LOCK: 'table' }));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /took over the expired lock .* from dead-host pid 1/);
    assert.match(r.stderr, /abandoned/);
    const rows = await runRows(knex);
    assert.equal(rows[0]!.status, 'abandoned');
    assert.ok(rows[0]!.finished_at);
    assert.equal(rows[1]!.status, 'succeeded');
    assert.equal(await progressCount(knex), 2);
    assert.equal(Number((await knex('job_locks').count({ n: '*' }).first())?.n), 0);
  });

  test('an unlock by a run that no longer owns the lease leaves the new owner alone', async () => {
    const { knex, dialect } = db();
    const req = { db: knex, dialect, mode: 'table' as const, job: JOB, timeoutMs: 60_000 };
    const first = await acquireJobLock({ ...req, holder: 'host-a pid 1 #aaaaaa' });
    assert.equal(first.acquired, true);
    const held = await acquireJobLock({ ...req, holder: 'host-b pid 2 #bbbbbb' });
    assert.equal(held.acquired, false);
    // The first run stalls past its lease; the second takes over.
    await knex('job_locks').update({ expires_at: toDbInstant(dialect, new Date(Date.now() - 1000)) });
    const second = await acquireJobLock({ ...req, holder: 'host-b pid 2 #bbbbbb' });
    assert.ok(second.acquired);
    if (!first.acquired || !second.acquired) return;
    await second.lock.attachRun(42);
    assert.equal(await first.lock.confirm(), false, 'fencing: the first sees it lost the lease');
    assert.equal(await first.lock.release(), false, 'the stale owner releases nothing');
    const row = await knex('job_locks').first();
    assert.equal(row.holder, 'host-b pid 2 #bbbbbb');
    assert.equal(Number(row.run_id), 42);
    assert.equal(await second.lock.confirm(), true);
    assert.equal(await second.lock.release(), true);
    assert.equal(Number((await knex('job_locks').count({ n: '*' }).first())?.n), 0);
  });

  test('lease times come from the database clock, in the stored form', async () => {
    const { knex, dialect } = db();
    const got = await acquireJobLock({ db: knex, dialect, mode: 'table', job: JOB, holder: 'h #1', timeoutMs: 60_000 });
    assert.ok(got.acquired);
    const { fromDbInstant } = await import('../../src/db/time.js');
    const row = await knex('job_locks').first();
    const acquired = fromDbInstant(row.acquired_at)!;
    const expires = fromDbInstant(row.expires_at)!;
    assert.ok(Math.abs(acquired.getTime() - Date.now()) < 60_000, `acquired_at ${acquired.toISOString()} is near now`);
    assert.equal(expires.getTime() - acquired.getTime(), 66_000, 'expiry = timeout + margin');
    if (dialect === 'sqlite') assert.match(String(row.acquired_at), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$/);
    if (got.acquired) await got.lock.release();
  });

  test('a dispatcher run claims its schedule slot; a second run for the slot writes no row and exits 0', async () => {
    const { knex } = db();
    const slot = ['--trigger', 'run-due', '--scheduled-for', '2026-01-05T03:00:00Z'];
    const a = await runCli([JOB, ...slot], env());
    assert.equal(a.code, 0, a.stderr);
    const b = await runCli([JOB, ...slot], env());
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /already has a run/);
    const rows = await runRows(knex);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.trigger, 'run-due');
    const help = await runCli([JOB, '--help'], env());
    assert.doesNotMatch(help.stdout, /--trigger|--scheduled-for/, 'dispatcher options stay out of --help');
  });

  test('a disabled job exits 0 with a note and a skipped row; its dry run still previews', async () => {
    const { knex, dialect } = db();
    await seedProgress(knex, dialect, 2);
    await knex('system_settings').insert({ key: `job.${JOB}.enabled`, value: 'false' });
    const r = await runCli([JOB], env());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /is disabled/);
    const [row] = await runRows(knex);
    assert.equal(row!.status, 'skipped');
    assert.equal(row!.summary.reason, 'disabled');
    assert.equal(await progressCount(knex), 4);
    const dry = await runCli([JOB, '--dry-run'], env());
    assert.equal(dry.code, 0);
    assert.match(dry.stderr, /disabled; this dry run shows what it would change/);
    assert.match(dry.stdout, /Would delete 2 expired/);
  });

  test('--timeout stops between batches: exit 75, interrupted, finished batches committed, lock free', async () => {
    const { knex, dialect } = db();
    await seedProgress(knex, dialect, 6, 0);
    const r = await runCli([JOB, '--batch-size', '2', '--timeout', '1s'], env(), { hooks: slowBatches(600) });
    assert.equal(r.code, 75, r.stderr);
    assert.match(r.stderr, /time limit of 1s reached/);
    const [row] = await runRows(knex);
    assert.equal(row!.status, 'interrupted');
    assert.equal(row!.exit_code, 75);
    assert.equal(row!.summary.stoppedBy, 'timeout');
    const left = await progressCount(knex);
    assert.equal(6 - left, row!.summary.itemsDone);
    assert.equal(left % 2, 0, 'whole batches only');
    const next = await runCli([JOB], env());
    assert.equal(next.code, 0, next.stderr);
    assert.equal(await progressCount(knex), 0);
  });

  test('history shows the runs newest first, as a table and as JSON', async () => {
    const { knex, dialect } = db();
    await seedProgress(knex, dialect, 1);
    await runCli([JOB], env());
    await knex('system_settings').insert({ key: `job.${JOB}.enabled`, value: 'false' });
    await runCli([JOB], env());
    const table = await runCli(['history', JOB], env());
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trim().split('\n');
    assert.match(lines[0]!, /^ID\s+JOB\s+TRIGGER\s+STARTED \(UTC\)\s+DURATION\s+STATUS\s+EXIT\s+HOST\s+SUMMARY/);
    assert.match(lines[1]!, /skipped\s+0\s+.*disabled/);
    assert.match(lines[2]!, /succeeded\s+0\s+.*deleted=1/);
    const json = JSON.parse((await runCli(['history', '--json', '--limit', '1'], env())).stdout);
    assert.equal(json.runs.length, 1);
    assert.equal(json.runs[0].status, 'skipped');
    assert.equal((await runCli(['history', 'no-such-job'], env())).code, 64);
  });

  test('locks lists a lease and frees it only with --yes', async () => {
    const { knex, dialect } = db();
    await knex('job_locks').insert({ name: lockName(JOB), holder: 'gone-host pid 7 #777777', run_id: 12, acquired_at: toDbInstant(dialect, new Date()), expires_at: toDbInstant(dialect, new Date(Date.now() + 3_600_000)) });
    const list = await runCli(['locks'], env());
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /cleanup-survey-progress: gone-host pid 7 #777777, run #12, since .* UTC, expires .* UTC · valid/);
    const json = JSON.parse((await runCli(['locks', '--json'], env())).stdout);
    assert.equal(json.leases[0].job, JOB);
    assert.equal(json.leases[0].expired, false);
    const refused = await runCli(['locks', '--release', JOB], env());
    assert.equal(refused.code, 64);
    assert.match(refused.stderr, /add --yes/);
    assert.equal(Number((await knex('job_locks').count({ n: '*' }).first())?.n), 1);
    const freed = await runCli(['locks', '--release', JOB, '--yes'], env());
    assert.equal(freed.code, 0, freed.stderr);
    assert.match(freed.stdout, /Released the lease of cleanup-survey-progress held by gone-host/);
    assert.equal(Number((await knex('job_locks').count({ n: '*' }).first())?.n), 0);
  });

  test('monitoring pings: /start and /<exit code>; a failing monitor is only a warning', async () => {
    const { knex, dialect } = db();
    await seedProgress(knex, dialect, 1);
    const r = await runCli([JOB], env({ ONTIME_PING_URL: `${ping.url}/ping/{job}` }));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ping.paths, [`/ping/${JOB}/start`, `/ping/${JOB}/0`]);
    await runCli([JOB, '--dry-run'], env({ ONTIME_PING_URL: `${ping.url}/ping/{job}` }));
    assert.equal(ping.paths.length, 2, 'a dry run sends no ping');
    ping.status = 500;
    const bad = await runCli([JOB], env({ ONTIME_PING_URL: `${ping.url}/secret-uuid/{job}` }));
    assert.equal(bad.code, 0);
    assert.match(bad.stderr, /warning: monitoring ping "start" to 127\.0\.0\.1:\d+ answered HTTP 500/);
    assert.doesNotMatch(bad.stderr, /secret-uuid/);
    const gone = await runCli([JOB], env({ ONTIME_PING_URL: `http://127.0.0.1:${await closedPort()}/{job}` }));
    assert.equal(gone.code, 0);
    assert.match(gone.stderr, /monitoring ping "0" .* failed \(ECONNREFUSED\)/);
  });

  test('a failed run sends an alert through the outbox with the error and the last lines', async () => {
    const { knex, dialect } = db();
    await seedProgress(knex, dialect, 4, 0);
    const r = await runCli(
      [JOB, '--batch-size', '1', '--timeout', '1s'],
      env({ ...smtp.env(), ONTIME_ALERT_EMAILS: 'ops@example.test, oncall@example.test', ONTIME_PING_URL: `${ping.url}/{job}` }),
      { hooks: slowBatches(1100) },
    );
    assert.equal(r.code, 75, r.stderr);
    assert.deepEqual(ping.paths, [`/${JOB}/start`, `/${JOB}/75`]);
    assert.equal(smtp.messages.length, 2);
    const [msg] = smtp.messages;
    assert.match(msg!.subject ?? '', new RegExp(`\\[ontime\\] ${JOB} was interrupted on .* \\(exit 75\\)`));
    assert.match(msg!.text, /Exit code: +75/);
    assert.match(msg!.text, /time limit of 1s reached/);
    assert.match(msg!.text, /Starting survey progress cleanup/);
    const outbox = await knex('email_outbox').where({ kind: 'job-failure-alert' }).orderBy('id');
    assert.equal(outbox.length, 2);
    const [run] = await runRows(knex);
    assert.equal(outbox[0].dedupe_key, `job-failure-alert:${run!.id}:ops@example.test`);
    assert.equal(outbox[0].status, 'sent');
    // A successful run sends none.
    await runCli([JOB], env({ ...smtp.env(), ONTIME_ALERT_EMAILS: 'ops@example.test' }));
    assert.equal(smtp.messages.length, 2);
  });

  test('no password in output, job_runs or alerts when SMTP or the database fails', async () => {
    const { knex, dialect } = db();
    await seedProgress(knex, dialect, 2, 0);
    const secret = 'Sup3rS3cretPw';
    const r = await runCli(
      [JOB, '--batch-size', '1', '--timeout', '1s'],
      env({
        EMAIL_HOST: '127.0.0.1', EMAIL_PORT: String(await closedPort()), EMAIL_HOST_USER: 'u', EMAIL_HOST_PASSWORD: secret,
        ONTIME_ALERT_EMAILS: 'ops@example.test',
      }),
      { hooks: slowBatches(1100) },
    );
    assert.equal(r.code, 75, 'a failing alert never changes the exit code');
    assert.match(r.stderr, /warning: failure alert to ops@example.test not sent/);
    assert.ok(!(r.stdout + r.stderr).includes(secret));
    const rows = await knex('job_runs').select('*');
    const outbox = await knex('email_outbox').select('*');
    assert.ok(!JSON.stringify(rows).includes(secret));
    assert.ok(!JSON.stringify(outbox).includes(secret));

    // The database itself unreachable, with a password in DATABASE_URL: exit 75, the monitor hears it.
    const url = `${dialect === 'mysql' ? 'mysql' : 'postgres'}://u:${secret}@127.0.0.1:${await closedPort()}/x`;
    const down = await runCli([JOB], { DATABASE_URL: url, ONTIME_PING_URL: `${ping.url}/{job}` });
    assert.equal(down.code, 75, down.stderr);
    assert.ok(!(down.stdout + down.stderr).includes(secret), down.stderr);
    assert.equal(ping.paths.at(-1), `/${JOB}/75`);
  });
});
