/** DATABASE_URL → DatabaseConfig: every form docs/reference/cli.md names; errors never echo the URL. */
import { isAbsolute, resolve } from 'node:path';
import type { DatabaseConfig, Dialect } from './config.js';
import { parseTlsParameters } from './db/tls.js';
import { ConfigError, registerSecret } from './errors.js';

/** Where the database is when DATABASE_URL is unset: ./ontime.sqlite3 in the working directory. */
export const DEFAULT_SQLITE_FILE = 'ontime.sqlite3';

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
