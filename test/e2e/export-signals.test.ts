/**
 * Each exported command line, run the way its platform runs it, stops gracefully on SIGTERM: the
 * crontab line under `sh -c` (as cron starts it), systemd's ExecStart and the Kubernetes
 * container's command+args as argv (the kubelet signals the container's PID 1). The signal goes
 * to the process the platform started; ontime must be that process (exec form), finish its batch,
 * record the run `interrupted` and exit 143. With `npx` or a plain `sh -c` in between, the
 * launcher would die and leave the run `running`. Slow batches come from the documented test
 * hook ONTIME_TEST_BATCH_DELAY_MS (docs/run-safety.md). Needs `npm run build`.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { beforeEach, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { splitWords } from '../../src/schedule/export/common.js';
import { binPath, runCli, testEnv } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { JOB, progressCount, runRows, seedProgress, sleep } from '../helpers/run-safety.js';

const HOOK = /test hook: waiting \d+ms before the next batch/;
/** More rows than one default batch (1000), so a batch is left when the signal arrives. */
const ROWS = 1200;

interface Launch {
  argv: string[];
  cwd: string;
  env: Record<string, string | undefined>;
  /** Where the output goes: the crontab line redirects it to a log file itself. */
  logFile?: string;
}

async function exported(platform: string, args: string[]): Promise<string> {
  const r = await runCli(['export', platform, ...args], {});
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** Start like the platform, wait until a batch is under way, SIGTERM the started process. */
async function stopWithSigterm(launch: Launch): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: () => string }> {
  const child: ChildProcess = spawn(launch.argv[0]!, launch.argv.slice(1), { cwd: launch.cwd, env: testEnv(launch.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let piped = '';
  child.stdout!.on('data', (d) => (piped += d));
  child.stderr!.on('data', (d) => (piped += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const output = () => piped + (launch.logFile && existsSync(launch.logFile) ? readFileSync(launch.logFile, 'utf8') : '');
  const until = Date.now() + 60_000;
  while (!HOOK.test(output())) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`ended before its first batch: ${output()}`);
    if (Date.now() > until) throw new Error(`no batch started: ${output()}`);
    await sleep(20);
  }
  child.kill('SIGTERM');
  return { ...(await done), output };
}

forEachDatabase('exported command lines stop gracefully on SIGTERM', (db) => {
  let dir: string;
  let env: Record<string, string>;
  beforeEach(async () => {
    await db().reset();
    await seedProgress(db().knex, db().dialect, ROWS, 0);
    dir = mkdtempSync(join(tmpdir(), 'ontime-exported-'));
    env = { DATABASE_URL: db().url, ONTIME_TEST_BATCH_DELAY_MS: '1000' };
  });

  async function assertInterrupted(result: { code: number | null; signal: NodeJS.Signals | null; output: () => string }) {
    assert.equal(result.code, 143, `exit ${result.code} / ${result.signal}: ${result.output()}`);
    assert.match(result.output(), /received SIGTERM: finishing the current batch/);
    const [row] = await runRows(db().knex);
    assert.equal(row!.status, 'interrupted');
    assert.equal(row!.exit_code, 143);
    assert.ok((await progressCount(db().knex)) > 0, 'stopped before the work was done');
  }

  test('crontab line (sh -c, environment file sourced, output to the log)', async () => {
    const envFile = join(dir, 'ontime.env');
    // The test seams reach ontime through the sourced file too (NODE_OPTIONS preloads them).
    const fileEnv = { ...env, NODE_OPTIONS: testEnv(env).NODE_OPTIONS! };
    writeFileSync(envFile, Object.entries(fileEnv).map(([k, v]) => `${k}='${v}'\n`).join(''));
    const logDir = join(dir, 'log');
    mkdirSync(logDir);
    const crontab = await exported('crontab', ['--cwd', dir, '--env-file', envFile, '--log-dir', logDir]);
    const line = crontab.split('\n').find((l) => !l.startsWith('#') && l.includes(` ${JOB} `));
    assert.ok(line, crontab);
    // cron: the five time fields, then the command for sh -c, with \% meaning %.
    const command = line.split(/\s+/).slice(5).join(' ').replace(/\\%/g, '%');
    const result = await stopWithSigterm({ argv: ['/bin/sh', '-c', command], cwd: '/', env: {}, logFile: join(logDir, `${JOB}.log`) });
    await assertInterrupted(result);
  });

  test('systemd ExecStart (argv, WorkingDirectory)', async () => {
    const units = await exported('systemd', ['--cwd', dir]);
    const service = units.split('# ===== ').find((f) => f.startsWith(`ontime-${JOB}.service`))!;
    const execStart = /^ExecStart=(.*)$/m.exec(service)![1]!;
    const workingDirectory = /^WorkingDirectory=(.*)$/m.exec(service)![1]!;
    assert.equal(workingDirectory, dir);
    await assertInterrupted(await stopWithSigterm({ argv: splitWords(execStart), cwd: workingDirectory, env }));
  });

  test('Kubernetes container command + args (ontime on the image PATH, workingDir)', async () => {
    const manifests = parseAllDocuments(await exported('k8s', ['--cwd', dir]))
      .filter((d) => d.contents !== null)
      .map((d) => d.toJS());
    const container = manifests.find((m) => m.metadata.name === `ontime-${JOB}`).spec.jobTemplate.spec.template.spec.containers[0];
    // The image: `ontime` on PATH, as the Dockerfile installs it.
    const imageBin = join(dir, 'image-bin');
    mkdirSync(imageBin);
    symlinkSync(binPath, join(imageBin, 'ontime'));
    const pathWithNode = [imageBin, join(process.execPath, '..'), process.env.PATH].join(delimiter);
    await assertInterrupted(
      await stopWithSigterm({ argv: [...container.command, ...container.args], cwd: container.workingDir, env: { ...env, PATH: pathWithNode } }),
    );
  });
});
