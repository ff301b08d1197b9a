/**
 * Debian's real prometheus-pushgateway, started on a free port for a test file. .ci/run installs
 * the package when it is missing; locally, without it, the tests that need it are skipped.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { closedPort } from './smtp.js';
import { isCI } from './databases.js';

/** The binary's path from the package's file list, or why there is none. */
export function pushgatewayBinary(): { path?: string; problem?: string } {
  try {
    const files = execFileSync('dpkg', ['-L', 'prometheus-pushgateway'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const path = files.split('\n').find((f) => /\/bin\/prometheus-pushgateway$/.test(f));
    if (path && existsSync(path)) return { path };
  } catch {
    // not installed (or no dpkg): reported below
  }
  const problem = 'prometheus-pushgateway is not installed (apt-get install -y prometheus-pushgateway)';
  if (isCI) throw new Error(problem);
  return { problem };
}

export interface Pushgateway {
  url: string;
  /** The gateway's own /metrics text. */
  metrics(): Promise<string>;
  /** Forget every pushed group. */
  wipe(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPushgateway(binary: string): Promise<Pushgateway> {
  const port = await closedPort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(binary, [`--web.listen-address=127.0.0.1:${port}`, '--web.enable-admin-api', '--persistence.file='], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  for (let i = 0; ; i++) {
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (child.exitCode !== null || i > 200) {
      child.kill();
      throw new Error(`prometheus-pushgateway did not start on ${url}: ${log}`);
    }
    await new Promise((res) => setTimeout(res, 50));
  }
  return {
    url,
    metrics: () => fetch(`${url}/metrics`).then((r) => r.text()),
    wipe: async () => {
      const res = await fetch(`${url}/api/v1/admin/wipe`, { method: 'PUT' });
      if (!res.ok) throw new Error(`wipe: HTTP ${res.status}`);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
