/**
 * Environment (+ .env in the working directory; the environment wins) → one validated Config.
 * Passwords are registered with redact() the moment they are read.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { ConfigError, registerSecret } from './errors.js';
import { parseTlsParameters, type TlsSettings } from './db/tls.js';
import { resolveSchema, type Schema } from './profiles/index.js';

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
  /** ONTIME_SMTP_CONNECTIONS: SMTP connections, and so messages in flight at once (default 1). */
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

export const DEFAULT_SQLITE_FILE = 'ontime.sqlite3';

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
 * Parallel SMTP connections of a run. Small by default: many relays limit concurrent connections
 * per client (Microsoft 365's SMTP submission allows 3), and 3 already keeps a local relay busy.
 */
// One by default: then a crash repeats at most the one message in flight, as docs/reference/jobs.md promises.
// More connections are faster and widen that bound (docs/mail.md); the operator chooses.
const DEFAULT_SMTP_CONNECTIONS = 1;
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

/**
 * DATABASE_URL in the forms docs/reference/cli.md names. Never echo the URL itself in an error: it may hold a
 * password, and the parse failed, so we cannot know which part is the password.
 */
export function parseDatabaseUrl(raw: string | undefined, cwd: string = process.cwd()): DatabaseConfig {
  const value = raw?.trim();
  if (!value) {
    const filename = resolve(cwd, DEFAULT_SQLITE_FILE);
    return { dialect: 'sqlite', filename, display: `sqlite:${DEFAULT_SQLITE_FILE}`, isDefault: true };
  }
  const schemeMatch = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(value);
  if (!schemeMatch) {
    throw new ConfigError(
      'DATABASE_URL is not a URL (it has no scheme)',
      'use postgres://user:pass@host:5432/db, mysql://user:pass@host:3306/db, sqlite:relative.db or sqlite:///abs/path.db',
    );
  }
  const scheme = schemeMatch[1]!.toLowerCase();
  if (scheme === 'sqlite' || scheme === 'sqlite3') {
    return parseSqliteUrl(value.slice(schemeMatch[0].length), cwd);
  }
  const dialect: Dialect | undefined =
    scheme === 'postgres' || scheme === 'postgresql'
      ? 'postgres'
      : scheme === 'mysql' || scheme === 'mariadb'
        ? 'mysql'
        : undefined;
  if (!dialect) {
    throw new ConfigError(
      `DATABASE_URL scheme "${scheme}:" is not supported`,
      'use postgres://, postgresql://, mysql://, mariadb:// or sqlite:',
    );
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(
      `DATABASE_URL is not a valid ${scheme}:// URL`,
      'check it has the form scheme://user:password@host:port/database, with special characters in the password percent-encoded (@ as %40, / as %2F, # as %23, : as %3A)',
    );
  }
  const password = url.password ? safeDecodeComponent(url.password) : undefined;
  registerSecret(password);
  registerSecret(url.password);
  if (!url.hostname) throw new ConfigError(`DATABASE_URL has no host name`);
  const database = safeDecodeComponent(url.pathname.replace(/^\//, ''));
  if (!database) throw new ConfigError('DATABASE_URL names no database (the part after the last /)');
  let port: number | undefined;
  if (url.port) {
    port = Number(url.port);
  }
  const tls = parseTlsParameters(url.searchParams, dialect);
  const user = url.username ? safeDecodeComponent(url.username) : undefined;
  const display = `${scheme}://${user ? `${user}${password ? ':***' : ''}@` : ''}${url.host}/${database}`;
  return {
    dialect,
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: port ?? (dialect === 'postgres' ? 5432 : 3306),
    user,
    password,
    database,
    tls,
    display,
    isDefault: false,
  };
}

function parseSqliteUrl(rest: string, cwd: string): DatabaseConfig {
  // sqlite:///abs/path.db → /abs/path.db ; sqlite:relative.db → ./relative.db ; sqlite://rel.db → ./rel.db
  let path = rest;
  if (path.startsWith('///')) path = path.slice(2);
  else if (path.startsWith('//')) path = path.slice(2);
  path = safeDecodeComponent(path.split('?')[0] ?? '');
  if (!path) throw new ConfigError('DATABASE_URL sqlite: names no file', 'use sqlite:relative.db or sqlite:///abs/path.db');
  const filename = path === ':memory:' ? ':memory:' : isAbsolute(path) ? path : resolve(cwd, path);
  return { dialect: 'sqlite', filename, display: `sqlite:${filename}`, isDefault: false };
}

function safeDecodeComponent(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
