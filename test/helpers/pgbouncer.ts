/**
 * A real PgBouncer in front of the test PostgreSQL, started on a free port for one test file:
 * database `tx` in transaction pooling, `sess` in session pooling, both pointing at the file's own
 * database. Returns null when the pgbouncer binary is missing (CI installs it: .ci/run).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BINARIES = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'];

export interface PgBouncer {
  port: number;
  /** DATABASE_URL through the pooler, for pool mode `transaction` or `session`. */
  url(mode: 'transaction' | 'session'): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

async function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export function pgbouncerBinary(): string | undefined {
  return BINARIES.find((b) => existsSync(b));
}

/** `target` is the file's PostgreSQL URL (postgres://user@host:port/db). */
export async function startPgBouncer(target: string): Promise<PgBouncer | null> {
  const binary = pgbouncerBinary();
  if (!binary) return null;
  const t = new URL(target);
  const database = t.pathname.slice(1);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ontime-pgbouncer-'));
  chmodSync(dir, 0o755);
  const server = `host=${t.hostname} port=${t.port || 5432} dbname=${database} user=${decodeURIComponent(t.username) || 'postgres'}`;
  const ini = join(dir, 'pgbouncer.ini');
  writeFileSync(
    ini,
    [
      '[databases]',
      `tx = ${server} pool_mode=transaction`,
      `sess = ${server} pool_mode=session`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      `unix_socket_dir = ${dir}`,
      'auth_type = any',
      'pool_mode = transaction',
      'default_pool_size = 4',
      'max_client_conn = 100',
      'ignore_startup_parameters = extra_float_digits,options',
      '',
    ].join('\n'),
  );
  chmodSync(ini, 0o644);
  // PgBouncer refuses to run as root: it is told which user to become.
  const args = process.getuid?.() === 0 ? ['-u', 'postgres', ini] : [ini];
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  const until = Date.now() + 15_000;
  while (!(await answers(port))) {
    if (child.exitCode !== null || Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`pgbouncer did not start on port ${port}: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    url: (mode) => `postgres://${t.username || 'postgres'}@127.0.0.1:${port}/${mode === 'transaction' ? 'tx' : 'sess'}`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    },
  };
}
