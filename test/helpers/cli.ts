/** Running ontime in-process (fast, for most tests) or as the built binary (end-to-end). */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { main } from '../../src/cli.js';
import type { RunHooks } from '../../src/runner/hooks.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const binPath = join(repoRoot, 'bin', 'ontime');
/** node arguments that start the built binary with the test seams of test/helpers/preload-hooks.mjs. */
export const withTestHooks = (args: string[]) => ['--import', join(repoRoot, 'test', 'helpers', 'preload-hooks.mjs'), binPath, ...args];

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

class Capture {
  text = '';
  constructor(readonly isTTY = false) {}
  write(chunk: string) {
    this.text += chunk;
    return true;
  }
}

/** A working directory with no .env in it, so the developer's own settings never leak into tests. */
export const emptyCwd = mkdtempSync(join(tmpdir(), 'ontime-cwd-'));

/** Environment for a test run: nothing inherited that could change behaviour, plus `env`. */
export function testEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TZ: process.env.TZ, NO_COLOR: '1' };
  // A test that sets a seam variable gets it in every ontime process it starts, however that
  // process is started (directly, through sh -c as a crontab line, by run-due): node preloads the
  // seams for each of them. ontime itself never reads these variables.
  const seams = env.ONTIME_TEST_BATCH_DELAY_MS !== undefined || env.ONTIME_TEST_GO_FILE !== undefined;
  return { ...base, ...(seams ? { NODE_OPTIONS: `--import=${preloadHooksUrl}` } : {}), ...env };
}

const preloadHooksUrl = pathToFileURL(join(repoRoot, 'test', 'helpers', 'preload-hooks.mjs')).href;

/** Run the CLI in this process with captured streams. */
export async function runCli(
  args: string[],
  env: Record<string, string | undefined>,
  options: { tty?: boolean; cwd?: string; hooks?: Partial<RunHooks> } = {},
): Promise<CliResult> {
  const stdout = new Capture(options.tty);
  const stderr = new Capture(options.tty);
  const code = await main(args, { streams: { stdout, stderr }, env: testEnv(env), cwd: options.cwd ?? emptyCwd, hooks: options.hooks ?? {} });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** Spawn the built binary (run `npm run build` first; `npm test` does). */
export function spawnCli(
  args: string[],
  env: Record<string, string | undefined>,
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath, ...args], {
      env: testEnv(env),
      cwd: options.cwd ?? emptyCwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr });
    });
  });
}
