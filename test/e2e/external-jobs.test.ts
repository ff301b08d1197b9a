/**
 * External jobs (a jobs file, `ontime run`, `ontime exec`) with real processes: output and exit
 * codes recorded, a failure alerted through the outbox, once per slot under 8 concurrent
 * run-due processes, SIGTERM forwarded with its grace period then SIGKILL, and a SIGKILLed
 * ontime leaving no command behind. The command is a small node script, run without a shell.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { binPath, runCli, spawnCli, testEnv } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { runRows, sleep } from '../helpers/run-safety.js';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp.js';
import { jobs } from '../../src/registry.js';
import { lockName } from '../../src/db/locks.js';

/** The command: behaves as CHILD_MODE says (exit:<n>, hang, count). */
const CHILD = `
const fs = require('node:fs');
const mode = process.env.CHILD_MODE ?? 'exit:0';
console.log('child starting in ' + mode);
if (mode.startsWith('exit:')) {
  console.log('line 2');
  console.error('line 3 on stderr');
  process.exit(Number(mode.slice(5)));
}
if (mode === 'count') {
  fs.appendFileSync(process.env.COUNT_FILE, process.pid + '\\n');
  process.exit(0);
}
// hang: ignore SIGTERM (so only SIGKILL ends it) and say so.
process.on('SIGTERM', () => console.log('child got SIGTERM, carrying on'));
fs.writeFileSync(process.env.PID_FILE, String(process.pid));
setInterval(() => undefined, 1000);
`;

function jobsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ontime-external-'));
  writeFileSync(join(dir, 'child.cjs'), CHILD);
  writeFileSync(
    join(dir, 'ontime.jobs.yaml'),
    [
      'jobs:',
      '  - name: logsheet-report',
      '    description: Report aging logsheets',
      '    command: [node, child.cjs]',
      '    timeout: 1m',
      '    exitCodes: { "0": succeeded, "3": partial }',
      '  - name: every-minute',
      '    command: [node, child.cjs]',
      '    schedule: "* * * * *"',
      '    timeout: 1m',
      '    env: { CHILD_MODE: count }',
      '  - name: stubborn',
      '    command: [node, child.cjs]',
      '    timeout: 3s',
      '    killAfter: 1s',
      '',
    ].join('\n'),
  );
  return dir;
}

/** Running (a zombie waiting to be reaped counts as ended). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function until(what: string, ok: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function startOntime(args: string[], env: Record<string, string>, cwd: string) {
  const child: ChildProcess = spawn(process.execPath, [binPath, ...args], { env: testEnv(env), cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const r = { child, stdout: '', stderr: '', done: new Promise<{ code: number | null }>((res) => child.on('close', (code) => res({ code }))) };
  child.stdout!.on('data', (d) => (r.stdout += d));
  child.stderr!.on('data', (d) => (r.stderr += d));
  return r;
}

forEachDatabase('external jobs', (db) => {
  let smtp: TestSmtpServer;
  let dir: string;
  before(async () => {
    smtp = await startSmtpServer();
  });
  after(async () => {
    await smtp.close();
  });
  beforeEach(async () => {
    await db().reset();
    smtp.messages.length = 0;
    dir = jobsDir();
  });
  const env = (extra: Record<string, string> = {}) => ({ DATABASE_URL: db().url, PID_FILE: join(dir, 'pid'), COUNT_FILE: join(dir, 'count'), ...extra });

  test('output lines and exit codes are recorded; a mapped code is partial, an unmapped one failed and alerted through the outbox', async () => {
    const { knex } = db();
    const partial = await runCli(['run', 'logsheet-report'], env({ CHILD_MODE: 'exit:3' }), { cwd: dir });
    assert.equal(partial.code, 1, partial.stderr);
    assert.match(partial.stdout, /child starting in exit:3\nline 2\n/);
    assert.match(partial.stderr, /line 3 on stderr/);
    const failed = await runCli(['run', 'logsheet-report'], env({ ...smtp.env(), CHILD_MODE: 'exit:4', ONTIME_ALERT_EMAILS: 'ops@example.test' }), { cwd: dir });
    assert.equal(failed.code, 70, failed.stderr);
    assert.match(failed.stderr, /the command exited with code 4 \(failed\)/);
    const ok = await runCli(['run', 'logsheet_report'], env({ ...smtp.env(), ONTIME_ALERT_EMAILS: 'ops@example.test' }), { cwd: dir });
    assert.equal(ok.code, 0, ok.stderr);

    const rows = await runRows(knex, 'logsheet-report');
    assert.deepEqual(rows.map((r) => [r.status, r.exit_code, r.summary.childExitCode, r.summary.outcome]), [
      ['partial', 1, 3, 'partial'],
      ['failed', 70, 4, 'failed'],
      ['succeeded', 0, 0, 'succeeded'],
    ]);
    assert.deepEqual(rows[1]!.summary.lastLines, ['child starting in exit:4', 'line 2', 'line 3 on stderr']);
    assert.equal(rows[1]!.summary.command, 'node child.cjs');
    // One alert, for the failed run only, through the outbox.
    const outbox = await knex('email_outbox').where({ kind: 'job-failure-alert' });
    assert.equal(outbox.length, 1);
    assert.equal(outbox[0].dedupe_key, `job-failure-alert:${rows[1]!.id}:ops@example.test`);
    assert.equal(smtp.messages.length, 1);
    assert.match(smtp.messages[0]!.subject ?? '', /\[ontime\] logsheet-report failed .*\(exit 70\)/);
    assert.match(smtp.messages[0]!.text, /line 3 on stderr/);

    // The listings know it like any job.
    const listed = await runCli(['jobs', '--json'], env(), { cwd: dir });
    assert.equal(listed.code, 0, listed.stderr);
    const names = (JSON.parse(listed.stdout).jobs as Array<{ job: string }>).map((j) => j.job);
    assert.ok(names.includes('logsheet-report') && names.includes('every-minute') && names.includes('cleanup-survey-progress'));
    const listedJob = JSON.parse(listed.stdout).jobs.find((j: { job: string }) => j.job === 'logsheet-report');
    assert.equal(listedJob.startedAs, 'ontime run logsheet-report');
    const history = await runCli(['history', 'logsheet-report'], env(), { cwd: dir });
    assert.equal(history.code, 0, history.stderr);
    assert.match(history.stdout, /logsheet-report .*failed +70/);
    const why = await runCli(['why', 'every-minute'], env(), { cwd: dir });
    assert.equal(why.code, 0, why.stderr);
    assert.match(why.stdout, /every-minute/);
    const dry = await runCli(['run', 'logsheet-report', '--dry-run'], env(), { cwd: dir });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /\[dry run\] logsheet-report would run: node child.cjs/);
    assert.equal((await runRows(knex, 'logsheet-report')).length, 3, 'a dry run records nothing');
    // Only jobs of the file run with `run`.
    assert.equal((await runCli(['run', 'cleanup-survey-progress'], env(), { cwd: dir })).code, 64);
    assert.equal((await runCli(['run', 'no-such-job'], env(), { cwd: dir })).code, 64);
  });

  test('a scheduled external job runs once per slot under 8 concurrent run-due processes; exec --schedule claims its slot too', async () => {
    const { knex } = db();
    for (const def of jobs.filter((j) => !j.external && j.schedule)) {
      assert.equal((await runCli(['disable', def.name], env(), { cwd: dir })).code, 0);
    }
    const minute = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    const now = new Date(minute.getTime() + 1000).toISOString();
    const procs = Array.from({ length: 8 }, () => startOntime(['run-due', '--now', now], env(), dir));
    const results = await Promise.all(procs.map((p) => p.done));
    assert.deepEqual(results.map((r) => r.code), procs.map(() => 0), procs.map((p) => p.stdout + p.stderr).join('\n'));
    const ran = readFileSync(join(dir, 'count'), 'utf8').trim().split('\n');
    assert.equal(ran.length, 1, 'the command ran once');
    const rows = await runRows(knex, 'every-minute');
    assert.equal(rows.filter((r) => r.status === 'succeeded').length, 1);
    assert.ok(rows.every((r) => r.status === 'succeeded' || r.status === 'skipped'));
    assert.equal(rows.filter((r) => r.trigger === 'run-due').length, rows.length);

    // exec: the same crontab line on two hosts runs the command once per slot.
    const exec = (extra: string[]) =>
      spawnCli(['exec', '--name', 'nightly-count', '--schedule', '* * * * *', '--now', now, ...extra, '--', 'node', 'child.cjs'], env({ CHILD_MODE: 'count', COUNT_FILE: join(dir, 'exec-count') }), { cwd: dir });
    const [a, b] = await Promise.all([exec([]), exec([])]);
    assert.deepEqual([a.code, b.code], [0, 0], a.stderr + b.stderr);
    assert.equal(readFileSync(join(dir, 'exec-count'), 'utf8').trim().split('\n').length, 1);
    assert.equal((await runRows(knex, 'nightly-count')).filter((r) => r.status === 'succeeded').length, 1);
    const history = await runCli(['history', 'nightly-count'], env(), { cwd: dir });
    assert.equal(history.code, 0, history.stderr);
    assert.match(history.stdout, /nightly-count +cli .* succeeded +0/);
  });

  test('SIGTERM to ontime reaches the command, which gets its grace period, then SIGKILL; the run is interrupted, exit 143', async () => {
    const { knex } = db();
    const run = startOntime(['run', 'stubborn', '--timeout', '1m', '--kill-after', '2s'], env({ CHILD_MODE: 'hang' }), dir);
    await until('the command to start', () => existsSync(join(dir, 'pid')));
    const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    run.child.kill('SIGTERM');
    const { code } = await run.done;
    assert.equal(code, 143, run.stderr);
    assert.match(run.stdout, /child got SIGTERM, carrying on/, 'the signal reached the command');
    assert.match(run.stderr, /sending SIGTERM to the command, SIGKILL in 2s/, '--kill-after overrides the file');
    await until('SIGKILL to end it after the grace period', () => !alive(pid), 5_000);
    const [row] = await runRows(knex, 'stubborn');
    assert.equal(row!.status, 'interrupted');
    assert.equal(row!.exit_code, 143);
    assert.equal(row!.summary.stoppedBy, 'SIGTERM');
    assert.equal(row!.summary.childSignal, 'SIGKILL');
  });

  test('the time limit stops the command the same way (SIGTERM, grace, SIGKILL): interrupted, exit 75', async () => {
    const { knex } = db();
    const r = await spawnCli(['run', 'stubborn', '--timeout', '1s'], env({ CHILD_MODE: 'hang' }), { cwd: dir });
    assert.equal(r.code, 75, r.stderr);
    assert.match(r.stderr, /time limit of 1s reached; sending SIGTERM to the command/);
    // On a slow machine the command may not have got as far as writing its pid.
    if (existsSync(join(dir, 'pid'))) await until('the command to end', () => !alive(Number(readFileSync(join(dir, 'pid'), 'utf8'))), 5_000);
    const [row] = await runRows(knex, 'stubborn');
    assert.deepEqual([row!.status, row!.exit_code, row!.summary.stoppedBy], ['interrupted', 75, 'timeout']);
  });

  test('a lost lease (fencing) stops the command the same way: SIGTERM, grace, SIGKILL; interrupted, exit 75', async () => {
    const { knex } = db();
    const run = startOntime(['run', 'stubborn', '--timeout', '1m'], env({ CHILD_MODE: 'hang', ONTIME_LOCK: 'table' }), dir);
    await until('the command to start', () => existsSync(join(dir, 'pid')));
    const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    // Another run "takes over" the lease, as after an expiry.
    assert.equal(await knex('job_locks').where({ name: lockName('stubborn') }).update({ holder: 'elsewhere pid 1 #000000' }), 1);
    const { code } = await run.done;
    assert.equal(code, 75, run.stderr);
    assert.match(run.stderr, /the lock of stubborn is no longer ours.*sending SIGTERM to the command/);
    await until('the command to end', () => !alive(pid), 5_000);
    const [row] = await runRows(knex, 'stubborn');
    assert.deepEqual([row!.status, row!.summary.stoppedBy, row!.summary.childSignal], ['interrupted', 'lock-lost', 'SIGKILL']);
  });

  test('SIGKILL of ontime leaves the command killed too; the next run marks the old one abandoned', async () => {
    const { knex } = db();
    const run = startOntime(['run', 'stubborn'], env({ CHILD_MODE: 'hang' }), dir);
    await until('the command to start', () => existsSync(join(dir, 'pid')));
    const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    run.child.kill('SIGKILL');
    await run.done;
    await until('the command to be killed by its supervisor', () => !alive(pid), 15_000);
    assert.equal((await runRows(knex, 'stubborn'))[0]!.status, 'running');

    // The next run (a lease waits for its expiry: timeout 3s + margin).
    let next = await spawnCli(['run', 'stubborn', '--timeout', '1m'], env({ CHILD_MODE: 'exit:0' }), { cwd: dir });
    const deadline = Date.now() + 20_000;
    while (/already running/.test(next.stdout)) {
      assert.ok(Date.now() < deadline, 'the lease expired in time');
      await sleep(500);
      next = await spawnCli(['run', 'stubborn', '--timeout', '1m'], env({ CHILD_MODE: 'exit:0' }), { cwd: dir });
    }
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stderr, /marked run #\d+ of stubborn abandoned/);
    const rows = (await runRows(knex, 'stubborn')).filter((r) => r.status !== 'skipped');
    assert.deepEqual(rows.map((r) => r.status), ['abandoned', 'succeeded']);
  });
});
