/**
 * Environment (+ .env in the working directory; the environment wins) → one validated Config.
 * Passwords are registered with redact() the moment they are read.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { ConfigError, registerSecret } from './errors.js';
import type { TlsSettings } from './db/tls.js';
import { resolveSchema, type Schema } from './profiles/index.js';
import { DEFAULT_SQLITE_FILE, parseDatabaseUrl } from './database-url.js';

// DATABASE_URL parsing lives in database-url.ts; these names stay importable from here.
export { DEFAULT_SQLITE_FILE, parseDatabaseUrl };

export type Dialect = 'postgres' | 'mysql' | 'sqlite';

export interface DatabaseConfig {
  dialect: Dialect;
  /** For SQLite: the absolute file path. */
  filename?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  /** TLS from the URL's ssl parameters (undefined for SQLite). */
  tls?: TlsSettings;
  /** The URL with the password replaced by ***: safe to print. */
  display: string;
  /** True when DATABASE_URL was unset and we fell back to ./ontime.sqlite3. */
  isDefault: boolean;
}

export type EmailBackend = 'smtp' | 'console' | 'file';

export interface EmailConfig {
  /** Undefined when nothing is configured: a job that must send mail then exits 78. */
  backend?: EmailBackend;
  host?: string;
  port: number;
  user?: string;
  password?: string;
  useTls: boolean;
  useSsl: boolean;
  /** EMAIL_ALLOW_PLAINTEXT_AUTH: log in even where the server offers no TLS (doctor warns). */
  allowPlaintextAuth: boolean;
  from: string;
  filePath: string;
  /** ONTIME_SMTP_CONNECTIONS: SMTP connections, and so messages in flight at once (default 4). */
  connections: number;
}

export interface Config {
  database: DatabaseConfig;
  email: EmailConfig;
  siteUrl: string;
  alertEmails: string[];
  pingUrl?: string;
  timezone: string;
  lockMode: 'auto' | 'table';
  /** ONTIME_ARCHIVE_DIR, absolute: where prune-history writes audit_log archives (unset: none). */
  archiveDir?: string;
  /** ONTIME_BACKUP_DIR, absolute (default ./backups): where backup-database writes. */
  backupDir: string;
  /** ONTIME_PROFILE / ONTIME_PROFILE_FILE / ONTIME_TABLE_PREFIX / ONTIME_CALENDAR_TIMEZONE (docs/profiles.md). */
  schema: Schema;
  /** The merged environment, for the few modules that read variables of their own. */
  env: Record<string, string | undefined>;
}


/** The environment as ontime sees it: .env values under the real environment. */
export function readEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): Record<string, string | undefined> {
  const file = join(cwd, '.env');
  let fromFile: Record<string, string> = {};
  if (existsSync(file)) {
    try {
      fromFile = parseDotenv(readFileSync(file));
    } catch (err) {
      throw new ConfigError(`cannot read ${file}: ${(err as Error).message}`);
    }
  }
  return { ...fromFile, ...env };
}

/**
 * Variables that carry a secret. Each may instead name a file holding it, as `<NAME>_FILE` (the
 * convention of the official database images; Kubernetes and Docker mount secrets as files).
 * ONTIME_PING_URL is one: a healthchecks-style ping URL is the credential of its check.
 */
export const SECRET_VARIABLES = ['DATABASE_URL', 'EMAIL_HOST_PASSWORD', 'ONTIME_PING_URL'] as const;

/**
 * `<NAME>_FILE` → `<NAME>` for every secret variable, in place. Both set is a configuration error
 * (which one is meant is unknowable); the file's trailing newline (as `echo … > file` and most
 * secret tools write it) is not part of the value. Every value read is redacted from output.
 */
export function readSecretFiles(merged: Record<string, string | undefined>, cwd: string): void {
  for (const name of SECRET_VARIABLES) {
    const fileVar = `${name}_FILE`;
    const file = merged[fileVar]?.trim();
    if (!file) continue;
    if (merged[name]?.trim()) {
      throw new ConfigError(`both ${name} and ${fileVar} are set`, `set only one: ${fileVar} names a file holding the value of ${name}`);
    }
    const path = resolve(cwd, file);
    let value: string;
    try {
      value = readFileSync(path, 'utf8').replace(/(\r?\n)+$/, '');
    } catch (err) {
      throw new ConfigError(`${fileVar}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'check the path and that this user may read it');
    }
    if (!value) throw new ConfigError(`${fileVar}: ${path} is empty`);
    registerSecret(value);
    merged[name] = value;
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Config {
  const merged = readEnvironment(env, cwd);
  readSecretFiles(merged, cwd);
  registerSecret(merged.ONTIME_PING_URL?.trim());
  const database = parseDatabaseUrl(merged.DATABASE_URL, cwd);
  const email = parseEmail(merged);
  const lockMode = (merged.ONTIME_LOCK ?? 'auto').trim() || 'auto';
  if (lockMode !== 'auto' && lockMode !== 'table') {
    throw new ConfigError(`ONTIME_LOCK must be "auto" or "table", not "${lockMode}"`);
  }
  const timezone = (merged.ONTIME_TIMEZONE ?? 'UTC').trim() || 'UTC';
  if (!isValidTimeZone(timezone)) {
    throw new ConfigError(`ONTIME_TIMEZONE "${timezone}" is not a time zone this system knows`, 'use an IANA name such as Europe/London or UTC');
  }
  const pingUrl = merged.ONTIME_PING_URL?.trim() || undefined;
  if (pingUrl) checkPingUrl(pingUrl);
  return {
    database,
    email,
    siteUrl: (merged.SITE_URL ?? 'http://localhost:8000').replace(/\/+$/, ''),
    alertEmails: splitList(merged.ONTIME_ALERT_EMAILS),
    pingUrl,
    timezone,
    lockMode,
    archiveDir: merged.ONTIME_ARCHIVE_DIR?.trim() ? resolve(cwd, merged.ONTIME_ARCHIVE_DIR.trim()) : undefined,
    backupDir: resolve(cwd, merged.ONTIME_BACKUP_DIR?.trim() || 'backups'),
    schema: resolveSchema(merged, cwd),
    env: merged,
  };
}

/** Never echoes the URL: its path is often the secret of the check. */
function checkPingUrl(pingUrl: string): void {
  let url: URL;
  try {
    url = new URL(pingUrl.replaceAll('{job}', 'job'));
  } catch {
    throw new ConfigError('ONTIME_PING_URL is not a valid URL');
  }
  if (url.username || url.password) {
    // fetch refuses such URLs, so no ping would ever be sent; and the secret would sit in process lists.
    throw new ConfigError(
      `ONTIME_PING_URL for ${url.host} contains user:password`,
      'ping URLs carry their secret in the path (as healthchecks.io does); remove the credentials from the URL',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`ONTIME_PING_URL must be an http:// or https:// URL, not ${url.protocol}`);
  }
}

function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function isValidTimeZone(tz: string): boolean {
  // The default needs no check; asking Intl would load ICU's zone data (tens of ms, ~8 MB) on
  // every run, most of which never formats a time in a zone.
  if (tz === 'UTC') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['', '0', 'false', 'no', 'off']);

function parseBool(name: string, value: string | undefined): boolean {
  const v = (value ?? '').trim().toLowerCase();
  if (TRUE_WORDS.has(v)) return true;
  if (FALSE_WORDS.has(v)) return false;
  throw new ConfigError(`${name} must be true or false, not "${value}"`);
}

/**
 * Parallel SMTP connections of a run, each with its own message in conversation. Four by default:
 * one connection leaves the run waiting on every round trip (docs/performance.md, mail), while
 * many relays limit concurrent connections per client (Microsoft 365's SMTP submission allows 3:
 * set 3 there). Each connection widens what a crash may repeat by one message (docs/mail.md).
 */
const DEFAULT_SMTP_CONNECTIONS = 4;
const MAX_SMTP_CONNECTIONS = 16;

function parseEmail(env: Record<string, string | undefined>): EmailConfig {
  const host = env.EMAIL_HOST?.trim() || undefined;
  const rawBackend = env.EMAIL_BACKEND?.trim().toLowerCase() || undefined;
  // Django's dotted backend names are accepted too, so an existing environment keeps working.
  const backendAliases: Record<string, EmailBackend> = {
    smtp: 'smtp',
    console: 'console',
    file: 'file',
    'django.core.mail.backends.smtp.emailbackend': 'smtp',
    'django.core.mail.backends.console.emailbackend': 'console',
    'django.core.mail.backends.filebased.emailbackend': 'file',
  };
  let backend: EmailBackend | undefined;
  if (rawBackend) {
    backend = backendAliases[rawBackend];
    if (!backend) throw new ConfigError(`EMAIL_BACKEND must be smtp, console or file, not "${env.EMAIL_BACKEND}"`);
  } else if (host) {
    backend = 'smtp';
  }
  const portText = env.EMAIL_PORT?.trim();
  const port = portText ? Number(portText) : 25;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(`EMAIL_PORT must be a port number, not "${portText}"`);
  }
  const password = env.EMAIL_HOST_PASSWORD || undefined;
  registerSecret(password);
  const useTls = parseBool('EMAIL_USE_TLS', env.EMAIL_USE_TLS);
  const useSsl = parseBool('EMAIL_USE_SSL', env.EMAIL_USE_SSL);
  if (useTls && useSsl) {
    throw new ConfigError('EMAIL_USE_TLS and EMAIL_USE_SSL are both true; set only one (TLS = STARTTLS, SSL = implicit TLS)');
  }
  const connectionsText = env.ONTIME_SMTP_CONNECTIONS?.trim();
  const connections = connectionsText ? Number(connectionsText) : DEFAULT_SMTP_CONNECTIONS;
  if (!Number.isInteger(connections) || connections < 1 || connections > MAX_SMTP_CONNECTIONS) {
    throw new ConfigError(
      `ONTIME_SMTP_CONNECTIONS must be a whole number from 1 to ${MAX_SMTP_CONNECTIONS}, not "${connectionsText}"`,
      'it is how many SMTP connections a run opens at once; 1 sends one message at a time',
    );
  }
  if (backend === 'smtp' && !host) {
    throw new ConfigError('EMAIL_BACKEND is smtp but EMAIL_HOST is not set');
  }
  return {
    backend,
    host,
    port,
    user: env.EMAIL_HOST_USER || undefined,
    password,
    useTls,
    useSsl,
    allowPlaintextAuth: parseBool('EMAIL_ALLOW_PLAINTEXT_AUTH', env.EMAIL_ALLOW_PLAINTEXT_AUTH),
    from: env.DEFAULT_FROM_EMAIL?.trim() || 'webmaster@localhost',
    filePath: env.EMAIL_FILE_PATH?.trim() || 'mail-out',
    connections,
  };
}
