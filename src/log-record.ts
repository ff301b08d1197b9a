/**
 * One log line as one JSON object (`--log-format json` / ONTIME_LOG_FORMAT=json), for log
 * pipelines (Loki, Elasticsearch, CloudWatch) that filter by job, run and level. Hand-built
 * rather than pino: pino adds about 60 ms of start-up to every run (docs/operations.md has the
 * figures) and we write a few dozen lines per run, not thousands per second.
 */
import { hostname } from 'node:os';
import { ConfigError, redact } from './errors.js';

export type LogFormat = 'human' | 'json';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export const LOG_FORMATS: readonly LogFormat[] = ['human', 'json'];

/** The fields every record of a run carries; job and runId are known only once a job starts. */
export interface LogContext {
  job?: string;
  runId?: number | null;
  shard?: string;
}

/** ONTIME_LOG_FORMAT or --log-format; unset or empty is the human format. */
export function parseLogFormat(value: string | undefined, source = 'ONTIME_LOG_FORMAT'): LogFormat {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '') return 'human';
  if ((LOG_FORMATS as readonly string[]).includes(v)) return v as LogFormat;
  throw new ConfigError(`${source} must be "human" or "json", not "${value}"`);
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const EMAIL = /([A-Za-z0-9._%+-]+)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)/g;

/**
 * What any text in a record goes through: the redaction of every printed line (secrets, URL
 * credentials), colour codes removed, and email addresses masked to their domain. Human output
 * shows a recipient to the person watching a dry run; a log store keeps lines for months and is
 * read by many, so it gets `***@example.org`.
 */
export function cleanLogText(text: string): string {
  return redact(text).replace(ANSI, '').replace(EMAIL, '***@$2');
}

function cleanValue(value: unknown): unknown {
  if (typeof value === 'string') return cleanLogText(value);
  if (Array.isArray(value)) return value.map(cleanValue);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cleanValue(v)]));
  }
  return value;
}

let cachedHost: string | undefined;

/** One record, as one line of JSON (no newline). Fields never override ts, level, job, runId, host, msg. */
export function logRecord(level: LogLevel, msg: string, context: LogContext, fields: Record<string, unknown> = {}): string {
  cachedHost ??= hostname();
  const record: Record<string, unknown> = {
    ts: new Date().toISOString(),
    level,
    job: context.job ?? null,
    runId: context.runId ?? null,
    host: cachedHost,
    ...(context.shard ? { shard: context.shard } : {}),
    // Indentation lays out a terminal report; in a record it is noise.
    msg: cleanLogText(msg).trim(),
  };
  for (const [key, value] of Object.entries(fields)) {
    if (!(key in record) && value !== undefined) record[key] = cleanValue(value);
  }
  return JSON.stringify(record);
}
