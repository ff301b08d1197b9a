/**
 * PostgreSQL and MySQL/MariaDB backups through the servers' own dump tools. The password goes to
 * the tool in its environment (PGPASSWORD, MYSQL_PWD) — never on its command line, where any user
 * of the host could read it in the process list — and nothing the tool prints is shown unredacted.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { DatabaseConfig } from '../../config.js';
import { ConfigError, OntimeError, redact } from '../../errors.js';

export interface DumpTool {
  /** Absolute path of the program found on PATH. */
  program: string;
  args: string[];
  env: Record<string, string | undefined>;
  /** The tool writes the file itself (-f), or its stdout is gzipped into the file. */
  writesFile: boolean;
  /** File name extension of the result. */
  extension: string;
}

export function findOnPath(name: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
    } catch {
      // unreadable directory entry: keep looking
    }
  }
  return undefined;
}

/** The dump command for this database, or 78 naming the package to install. */
export function dumpTool(db: DatabaseConfig, env: Record<string, string | undefined>, target: string): DumpTool {
  const base = { ...env };
  // A password from the environment of the caller must not override the one in DATABASE_URL.
  delete base.PGPASSWORD;
  delete base.MYSQL_PWD;
  if (db.dialect === 'postgres') {
    const program = findOnPath('pg_dump', env.PATH);
    if (!program) throw new ConfigError('pg_dump is not on PATH', 'install the PostgreSQL client tools (Debian/Ubuntu: apt-get install postgresql-client)');
    const args = ['--format=custom', '--no-password', '--file', target, '--host', db.host ?? '127.0.0.1', '--port', String(db.port ?? 5432)];
    if (db.user) args.push('--username', db.user);
    args.push('--dbname', db.database ?? '');
    return {
      program,
      args,
      env: { ...base, PGPASSWORD: db.password, PGSSLMODE: db.tls && db.tls.mode !== 'disable' ? db.tls.mode : base.PGSSLMODE, PGSSLROOTCERT: db.tls?.rootCertFile ?? base.PGSSLROOTCERT, PGCONNECT_TIMEOUT: '10' },
      writesFile: true,
      extension: 'pgdump',
    };
  }
  const program = findOnPath('mariadb-dump', env.PATH) ?? findOnPath('mysqldump', env.PATH);
  if (!program) throw new ConfigError('neither mariadb-dump nor mysqldump is on PATH', 'install the client tools (Debian/Ubuntu: apt-get install mariadb-client)');
  const args = ['--single-transaction', '--routines', '--triggers', '--hex-blob', '--default-character-set=utf8mb4', '--host', db.host ?? '127.0.0.1', '--port', String(db.port ?? 3306)];
  if (db.user) args.push('--user', db.user);
  if (db.tls && db.tls.mode !== 'disable') {
    args.push('--ssl');
    if (db.tls.rootCertFile) args.push('--ssl-ca', db.tls.rootCertFile);
    if (db.tls.mode === 'verify-full') args.push('--ssl-verify-server-cert');
  }
  // The database name alone (not --databases): no CREATE DATABASE / USE in the dump, so it can be
  // restored into a database of any name.
  args.push(db.database ?? '');
  return { program, args, env: { ...base, MYSQL_PWD: db.password }, writesFile: false, extension: 'sql.gz' };
}

/** Run the tool; resolves when it exited 0 and its output is on disk; otherwise rejects, redacted. */
export async function runDump(tool: DumpTool, target: string): Promise<void> {
  const child = spawn(tool.program, tool.args, { env: tool.env as NodeJS.ProcessEnv, stdio: ['ignore', tool.writesFile ? 'ignore' : 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 4000) stderr += d.toString('utf8');
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  const written = tool.writesFile ? Promise.resolve() : pipeline(child.stdout!, createGzip(), createWriteStream(target, { mode: 0o600 }));
  const [code] = await Promise.all([exited, written]);
  if (code !== 0) {
    const name = tool.program.split('/').pop();
    throw new OntimeError(`${name} exited with ${code}: ${redact(stderr.trim().split('\n').slice(-3).join(' ')) || 'no message'}`, 1);
  }
}
