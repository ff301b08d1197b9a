/**
 * Errors that carry the exit code of docs/reference/jobs.md, and the redaction every printed line goes through.
 * Only cli.ts and the runner turn these into process exit codes.
 */

export const ExitCode = {
  ok: 0,
  partial: 1,
  usage: 64,
  unavailable: 69,
  internal: 70,
  tempfail: 75,
  config: 78,
  sigint: 130,
  sigterm: 143,
} as const;

export class OntimeError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    /** What the operator can do about it; printed after the message. */
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class UsageError extends OntimeError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.usage, hint);
  }
}

export class ConfigError extends OntimeError {
  constructor(message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, ExitCode.config, hint, options);
  }
}

/** A service the job needs (SMTP) cannot be reached at all. */
export class UnavailableError extends OntimeError {
  constructor(message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, ExitCode.unavailable, hint, options);
  }
}

/** Safe to retry later: the database is unreachable, the time limit was reached, the lease was lost. */
export class TemporaryError extends OntimeError {
  constructor(message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, ExitCode.tempfail, hint, options);
  }
}

// ---------------------------------------------------------------------------------------------
// Secrets. Config registers every password it reads; every line we print, every job_runs.error
// and every alert passes through redact(), so a driver error that quotes a connection string
// cannot leak one.

const secrets = new Set<string>();

export function registerSecret(secret: string | undefined | null): void {
  if (!secret) return;
  for (const form of [secret, safeDecode(secret), encodeURIComponent(secret)]) {
    if (form && form.length >= 3) secrets.add(form);
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function redact(text: string): string {
  let out = text;
  // Longest first, so a secret that contains another is removed whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    out = out.split(secret).join('***');
  }
  // Any URL with inline credentials, even ones we were never told about.
  return out.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/\s@]*):[^@\s]*@/gi, '$1:***@');
}

// ---------------------------------------------------------------------------------------------
// Turning anything thrown into an exit code and one line for stderr.

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'ER_CON_COUNT_ERROR',
  '57P01', // admin_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
]);

/** The server's certificate failed the check that was asked for: a setting to fix, not a passing fault. */
export const TLS_CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

const DATABASE_CONFIG_CODES = new Set([
  'ENOTFOUND', // unknown host: a typo, not a passing fault
  '28P01', // invalid_password
  '28000', // invalid_authorization_specification
  '3D000', // invalid_catalog_name (database does not exist)
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_BAD_DB_ERROR',
  'SQLITE_CANTOPEN',
  'HANDSHAKE_NO_SSL_SUPPORT', // ssl-mode asks for TLS the MySQL server does not offer
  ...TLS_CERTIFICATE_CODES,
]);

/** Driver errors that carry no code, by their message. */
const CONNECTION_MESSAGES = [/^Connection terminated unexpectedly/];
const CONFIG_MESSAGES = [/does not support (secure|SSL) connection/i];

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; errors?: unknown[] };
  if (typeof e.code === 'string') return e.code;
  // AggregateError from net when both IPv4 and IPv6 are refused.
  if (Array.isArray(e.errors) && e.errors.length > 0) return errorCode(e.errors[0]);
  return undefined;
}

/** Classify errors raised while connecting to or talking with the database. */
export function classifyDatabaseError(err: unknown, what: string): OntimeError | undefined {
  if (err instanceof OntimeError) return err;
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if ((code && CONNECTION_CODES.has(code)) || CONNECTION_MESSAGES.some((re) => re.test(message))) {
    return new TemporaryError(
      `cannot reach the database at ${what} (${code ?? firstLine(message)})`,
      'check that the server is running and reachable; the job is safe to retry',
      { cause: err },
    );
  }
  if (/Knex: Timeout acquiring a connection/i.test(message)) {
    return new TemporaryError(`timed out connecting to the database at ${what}`, 'the job is safe to retry', {
      cause: err,
    });
  }
  if ((code && DATABASE_CONFIG_CODES.has(code)) || CONFIG_MESSAGES.some((re) => re.test(message))) {
    return new ConfigError(`the database at ${what} refused us: ${firstLine(message)}`, 'check DATABASE_URL (user, password, database, sslmode / ssl-mode and its certificates)', {
      cause: err,
    });
  }
  return undefined;
}

export function firstLine(text: string): string {
  return text.split('\n')[0]?.trim() ?? '';
}

export interface DescribedError {
  exitCode: number;
  message: string;
  hint?: string;
}

/**
 * A database error as code + the database's message, with the values a few messages quote
 * (MySQL's duplicate entry and bad value, PostgreSQL's bad input) replaced: they may be personal data.
 */
export function databaseErrorText(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !/^(ER_|SQLITE_|WARN_)|^[0-9A-Z]{5}$/.test(code)) return undefined;
  const message = firstLine(err.message)
    .replace(/Duplicate entry '.*' for key/, "Duplicate entry '…' for key")
    .replace(/(value|entry): '.*?'( for column)/gi, "$1: '…'$2")
    .replace(/(invalid input (syntax|value) for [^:]*): ".*"/i, '$1: "…"')
    .replace(/^(value) ".*"( is out of range)/i, '$1 "…"$2');
  return `database error ${code}: ${message}`;
}

/** Errors that belong to the whole statement (lock conflicts): the run stops or retries, as before. */
const LOCK_ERROR_CODES = new Set(['40001', '40P01', 'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'SQLITE_BUSY', 'SQLITE_LOCKED']);

/**
 * The database's own text when `err` is a statement the database refused for the data in it (a
 * constraint, a trigger, a value): a row that can fail alone. Undefined for a connection, timeout,
 * configuration or lock error, or anything that is not a database error: those stop the run.
 * The one classifier for eachBatch's refused rows and the mail steps' (runner/batches.ts, mail/outbox.ts).
 */
export function refusedRowError(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && LOCK_ERROR_CODES.has(code)) return undefined;
  if (classifyDatabaseError(err, '') !== undefined) return undefined;
  return databaseErrorText(err);
}

/** Anything thrown → exit code and a one-line message. Unknown errors are bugs: 70, with where. */
export function describeError(err: unknown): DescribedError {
  if (err instanceof OntimeError) {
    return { exitCode: err.exitCode, message: redact(err.message), hint: err.hint && redact(err.hint) };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  const fromDatabase = databaseErrorText(err);
  if (fromDatabase) {
    return { exitCode: ExitCode.internal, message: redact(fromDatabase), hint: 'the database refused a statement; run again with --verbose for where' };
  }
  const where = e.stack
    ?.split('\n')
    .slice(1)
    .find((l) => !l.includes('node_modules') && !l.includes('node:'))
    ?.trim()
    .replace(/^at /, '');
  return {
    exitCode: ExitCode.internal,
    message: redact(`internal error: ${firstLine(e.message)}${where ? ` (at ${where})` : ''}`),
    hint: 'this is a bug in ontime; run again with --verbose for the stack trace and report it',
  };
}
