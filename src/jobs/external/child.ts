/**
 * ontime's side of an external command: start it under the supervisor (supervisor.ts) in a
 * process group of its own, pass its output on line by line, stop the whole group on request
 * (a signal first, SIGKILL after the grace period), and tell how it ended.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import type { ExternalJobSpec } from '../../external/validate.js';
import { packageRoot } from '../../version.js';

/**
 * The compiled supervisor in the package's dist/ (tsc's output, also when this module runs from
 * src/ or from the bundle): node runs it directly, so it is always the built file.
 */
export function supervisorPath(): string {
  return join(packageRoot(), 'dist', 'jobs', 'external', 'supervisor.js');
}

/** Longest partial line held back waiting for its newline. */
const MAX_LINE = 64 * 1024;

export interface ChildOutcome {
  /** The command's own exit code; null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The command could not be started at all (not found, not executable). */
  startError?: { message: string; code: string | null };
}

export interface SupervisedOptions {
  spec: Pick<ExternalJobSpec, 'command' | 'shell'>;
  killAfterMs: number;
  env: NodeJS.ProcessEnv;
  cwd: string;
  onLine(stream: 'stdout' | 'stderr', line: string): void;
}

export class SupervisedCommand {
  readonly done: Promise<ChildOutcome>;
  private readonly process: ChildProcess;
  private killTimer?: NodeJS.Timeout;
  private ended = false;

  constructor(o: SupervisedOptions) {
    const request = JSON.stringify({ command: o.spec.command, shell: o.spec.shell, killAfterMs: o.killAfterMs });
    this.process = spawn(process.execPath, [supervisorPath(), request], {
      cwd: o.cwd,
      env: o.env,
      // A process group of its own: a signal or SIGKILL reaches the command and everything it started.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const pending = { stdout: '', stderr: '' };
    const feed = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      pending[stream] += chunk.toString('utf8');
      const lines = pending[stream].split('\n');
      pending[stream] = lines.pop() ?? '';
      for (const line of lines) o.onLine(stream, line.replace(/\r$/, ''));
      // A command that writes without newlines must not grow the buffer without bound.
      if (pending[stream].length > MAX_LINE) {
        o.onLine(stream, pending[stream]);
        pending[stream] = '';
      }
    };
    this.process.stdout!.on('data', feed('stdout'));
    this.process.stderr!.on('data', feed('stderr'));
    const flush = () => {
      for (const stream of ['stdout', 'stderr'] as const) if (pending[stream]) o.onLine(stream, pending[stream]);
      pending.stdout = pending.stderr = '';
    };

    let reported: ChildOutcome | undefined;
    const control = this.process.stdio[3] as Socket;
    let buffer = '';
    control.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const msg = JSON.parse(line) as { event: string; code?: number | string | null; signal?: NodeJS.Signals | null; message?: string };
        if (msg.event === 'exit') reported = { code: (msg.code as number | null) ?? null, signal: msg.signal ?? null };
        if (msg.event === 'error') reported = { code: null, signal: null, startError: { message: msg.message ?? 'cannot start', code: (msg.code as string) ?? null } };
      }
    });
    control.on('error', () => undefined);

    this.done = new Promise((resolve) => {
      let spawnError: Error | undefined;
      this.process.on('error', (err) => {
        spawnError = err;
      });
      this.process.on('exit', (code, signal) => {
        this.ended = true;
        clearTimeout(this.killTimer);
        // Output written just before the end may still be in the pipes; a process the command
        // left behind may hold them open, so wait for them only briefly.
        const closed = new Promise((res) => this.process.on('close', res));
        void Promise.race([closed, new Promise((res) => setTimeout(res, 1000))]).then(() => {
          flush();
          this.process.stdout!.destroy();
          this.process.stderr!.destroy();
          control.destroy();
          if (spawnError) resolve({ code: null, signal: null, startError: { message: spawnError.message, code: null } });
          // The supervisor itself was killed (by our SIGKILL of the group) before it could report.
          else resolve(reported ?? { code: signal ? null : code, signal });
        });
      });
    });
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  private signalGroup(signal: NodeJS.Signals): void {
    if (this.ended || this.process.pid === undefined) return;
    try {
      if (process.platform === 'win32') this.process.kill(signal);
      else process.kill(-this.process.pid, signal);
    } catch {
      // Already gone.
    }
  }

  /** Ask the command to stop with `signal`; SIGKILL the group once the grace period has passed. */
  stop(signal: NodeJS.Signals, graceMs: number): void {
    this.signalGroup(signal);
    if (!this.killTimer) this.killTimer = setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
  }

  /** SIGKILL the group now. */
  kill(): void {
    this.signalGroup('SIGKILL');
  }
}
