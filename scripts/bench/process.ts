/**
 * Running the built CLI as its own process and measuring it from outside.
 *
 * Peak RSS comes from GNU time (`/usr/bin/time -v -o file`): the kernel's own maximum resident set
 * of the exited child (getrusage ru_maxrss via wait4), so nothing is sampled and nothing is missed
 * at the end of the run. Where GNU time is absent, the child is started with a tiny `--import`
 * preload that writes `process.resourceUsage().maxRSS` (the same kernel figure, read from inside)
 * to a file on exit. Either way the figure covers the whole node process.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  /** Peak resident set size in bytes; null when it could not be measured. */
  peakRssBytes: number | null;
}

const scratch = mkdtempSync(join(tmpdir(), 'ontime-bench-proc-'));
export const emptyCwd = mkdtempSync(join(tmpdir(), 'ontime-bench-cwd-'));

export function cleanupScratch(): void {
  rmSync(scratch, { recursive: true, force: true });
  rmSync(emptyCwd, { recursive: true, force: true });
}

type RssMethod = 'gnu-time' | 'preload';

let method: RssMethod | undefined;

/** GNU time if it works here (BusyBox time has no -v/-o), else the preload. */
export function rssMethod(): RssMethod {
  if (method) return method;
  const out = join(scratch, 'probe.txt');
  const r = spawnSync('/usr/bin/time', ['-v', '-o', out, process.execPath, '-e', '0'], { stdio: 'ignore' });
  let ok = false;
  try {
    ok = r.status === 0 && /Maximum resident set size/.test(readFileSync(out, 'utf8'));
  } catch {
    ok = false;
  }
  method = ok ? 'gnu-time' : 'preload';
  return method;
}

export function describeRssMethod(): string {
  return rssMethod() === 'gnu-time'
    ? 'GNU time -v (kernel ru_maxrss of the exited process)'
    : 'process.resourceUsage().maxRSS written by an --import preload at exit';
}

let preloadPath: string | undefined;
function preload(): string {
  if (!preloadPath) {
    preloadPath = join(scratch, 'maxrss-preload.mjs');
    writeFileSync(
      preloadPath,
      `import { writeFileSync } from 'node:fs';
const file = process.env.ONTIME_BENCH_RSS_FILE;
if (file) process.on('exit', () => { try { writeFileSync(file, String(process.resourceUsage().maxRSS)); } catch {} });
`,
    );
  }
  return preloadPath;
}

let counter = 0;

/** Run `node <args>` with `env`, measuring wall time and peak RSS. */
export function runNode(args: string[], env: NodeJS.ProcessEnv, options: { timeoutMs?: number; measureRss?: boolean } = {}): Promise<ProcessResult> {
  const measure = options.measureRss !== false;
  const rssFile = join(scratch, `rss-${process.pid}-${++counter}.txt`);
  let command = process.execPath;
  let argv = args;
  const childEnv: NodeJS.ProcessEnv = { ...env };
  if (measure && rssMethod() === 'gnu-time') {
    command = '/usr/bin/time';
    argv = ['-v', '-o', rssFile, process.execPath, ...args];
  } else if (measure) {
    argv = ['--import', pathToFileURL(preload()).href, ...args];
    childEnv.ONTIME_BENCH_RSS_FILE = rssFile;
  }
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, argv, { env: childEnv, cwd: emptyCwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - started;
      if (timer) clearTimeout(timer);
      let peakRssBytes: number | null = null;
      if (measure) {
        try {
          const text = readFileSync(rssFile, 'utf8');
          const kb = rssMethod() === 'gnu-time' ? /Maximum resident set size \(kbytes\):\s*(\d+)/.exec(text)?.[1] : text.trim();
          if (kb) peakRssBytes = Number(kb) * 1024;
          rmSync(rssFile, { force: true });
        } catch {
          peakRssBytes = null;
        }
      }
      resolve({ code, signal, stdout, stderr, wallMs, peakRssBytes });
    });
  });
}

export function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}
