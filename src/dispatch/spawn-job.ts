/**
 * Starting one job as a child process of the dispatcher: the same node, the same bin/ontime,
 * the same environment and working directory. Its output is passed through line by line with
 * a `[job] ` prefix, so a log of a `* * * * *` crontab line says which job wrote what.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../version.js';

/** The package's bin/ontime (this module may run from src/, dist/ or the bundle). */
export function binPath(): string {
  return join(packageRoot(), 'bin', 'ontime');
}

export interface ChildResult {
  exitCode: number;
  /** Set when the child was killed by a signal rather than exiting. */
  signal: NodeJS.Signals | null;
  pid: number | undefined;
}

export interface SpawnJobOptions {
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Receives each complete line the child writes, without its newline. */
  onLine(stream: 'stdout' | 'stderr', line: string): void;
  /** Called once the child exists, so a signal can be forwarded to it. */
  onStart?(child: ChildProcess): void;
}

export function spawnJob(options: SpawnJobOptions): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [binPath(), ...options.args], {
      env: options.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    options.onStart?.(child);
    const pending: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };
    const feed = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      pending[stream] += chunk.toString('utf8');
      const lines = pending[stream].split('\n');
      pending[stream] = lines.pop() ?? '';
      for (const line of lines) options.onLine(stream, line.replace(/\r$/, ''));
    };
    child.stdout!.on('data', feed('stdout'));
    child.stderr!.on('data', feed('stderr'));
    let spawnError: Error | undefined;
    child.on('error', (err) => {
      spawnError = err;
    });
    child.on('close', (code, signal) => {
      for (const stream of ['stdout', 'stderr'] as const) if (pending[stream]) options.onLine(stream, pending[stream]);
      if (spawnError) options.onLine('stderr', `error: could not start ${process.execPath}: ${spawnError.message}`);
      // A child killed by a signal reports 128 + the signal's number, as a shell would.
      const bySignal = signal ? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : signal === 'SIGINT' ? 2 : 1) : null;
      resolve({ exitCode: code ?? bySignal ?? 70, signal, pid: child.pid });
    });
  });
}

/**
 * The "worst" of several exit codes, the one that most needs a person: 0 done < 1 some items
 * failed < 75 retry later < 69 service unreachable < 64 usage < 78 configuration < 70 bug or
 * unknown < 130/143 stopped by a signal. Any code not listed ranks with 70.
 */
const SEVERITY: Record<number, number> = { 0: 0, 1: 1, 75: 2, 69: 3, 64: 4, 78: 5, 70: 6, 130: 7, 143: 8 };

export function severity(code: number): number {
  return SEVERITY[code] ?? SEVERITY[70]!;
}

export function worstExitCode(codes: number[]): number {
  return codes.reduce((worst, code) => (severity(code) > severity(worst) ? code : worst), 0);
}

/** What an exit code means, in the words of docs/reference/jobs.md. */
export function exitMeaning(code: number): string {
  switch (code) {
    case 0:
      return 'done';
    case 1:
      return 'some items failed';
    case 64:
      return 'usage error';
    case 69:
      return 'a required service is unreachable';
    case 70:
      return 'internal error';
    case 75:
      return 'temporary failure, retry later';
    case 78:
      return 'configuration error';
    case 130:
      return 'stopped by SIGINT';
    case 143:
      return 'stopped by SIGTERM';
    default:
      return 'unexpected exit code';
  }
}
