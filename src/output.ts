/**
 * Everything ontime prints goes through here: the colour decision, human lines versus --json,
 * progress on a terminal, and redaction of secrets.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import { redact } from './errors.js';
import { logRecord, type LogContext, type LogFormat, type LogLevel } from './log-record.js';

export interface WritableLike {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface Streams {
  stdout: WritableLike;
  stderr: WritableLike;
}

/**
 * chalk ignores NO_COLOR, so the decision is ours: FORCE_COLOR (other than 0/false) forces
 * colour; NO_COLOR set and non-empty turns it off; otherwise only on a terminal.
 */
export function colourWanted(env: Record<string, string | undefined>, stream: WritableLike): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '' && force !== '0' && force.toLowerCase() !== 'false') return true;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

/** Structured fields a line carries into a JSON log record (counts, durations, codes). */
export type LogFields = Record<string, unknown>;

export interface OutputOptions {
  json?: boolean;
  verbose?: boolean;
  /** `json`: every line becomes one JSON object (docs/operations.md, "Log format"). */
  logFormat?: LogFormat;
  env?: Record<string, string | undefined>;
}

export class Output {
  readonly json: boolean;
  readonly verbose: boolean;
  logFormat: LogFormat = 'human';
  /** job, runId (and shard) for JSON log records; set by the runner as it learns them. */
  readonly context: LogContext = {};
  /** Styles for human lines. Colourless when colour is off. */
  style: ChalkInstance;
  private errStyle: ChalkInstance;
  private readonly env: Record<string, string | undefined>;
  private progressShown = false;
  /** The last human lines, kept for failure alerts. */
  private readonly tail: string[] = [];

  constructor(
    readonly streams: Streams,
    options: OutputOptions = {},
  ) {
    const env = options.env ?? process.env;
    this.json = options.json ?? false;
    this.verbose = options.verbose ?? false;
    this.env = env;
    this.style = this.errStyle = new Chalk({ level: 0 });
    this.useLogFormat(options.logFormat ?? 'human');
  }

  /** Switch format (the .env file is read after the first lines may have been printed). */
  useLogFormat(format: LogFormat): void {
    this.logFormat = format;
    const colour = (stream: WritableLike) => format === 'human' && colourWanted(this.env, stream);
    // Human lines go to stderr under --json, so their colour follows that stream.
    this.style = new Chalk({ level: colour(this.human) ? 1 : 0 });
    this.errStyle = new Chalk({ level: colour(this.streams.stderr) ? 1 : 0 });
  }

  get jsonLog(): boolean {
    return this.logFormat === 'json';
  }

  private get human(): WritableLike {
    return this.json ? this.streams.stderr : this.streams.stdout;
  }

  private write(stream: WritableLike, text: string, level: LogLevel = 'info', fields?: LogFields, humanText = text, raw = false): void {
    this.clearProgress();
    const safe = redact(raw ? humanText : printable(humanText, this.style.level > 0 || this.errStyle.level > 0));
    this.remember(safe);
    stream.write((this.jsonLog ? logRecord(level, text, this.context, fields) : safe) + '\n');
  }

  private remember(line: string): void {
    this.tail.push(line);
    if (this.tail.length > 40) this.tail.shift();
  }

  /** The last lines printed (redacted, without colour codes), for alerts. */
  lastLines(n = 20): string[] {
    // eslint-disable-next-line no-control-regex
    return this.tail.slice(-n).map((l) => l.replace(/\x1b\[[0-9;]*m/g, ''));
  }

  /** A human line: stdout, or stderr under --json. */
  line(text = '', fields?: LogFields): void {
    // A blank spacer line means nothing in a log store.
    if (this.jsonLog && text.trim() === '' && !fields) return;
    this.write(this.human, text, 'info', fields);
  }

  /** A human line shown only with --verbose. */
  detail(text: string): void {
    if (this.verbose) this.write(this.human, text, 'debug');
  }

  heading(text: string): void {
    this.line(this.style.bold(text));
  }

  /** Notices and warnings always go to stderr, so stdout stays the job's report. */
  notice(text: string, fields?: LogFields): void {
    this.write(this.streams.stderr, text, 'info', fields);
  }

  warn(text: string, fields?: LogFields): void {
    this.write(this.streams.stderr, text, 'warn', fields, this.errStyle.yellow(`warning: ${text}`));
  }

  error(text: string, hint?: string, fields?: LogFields): void {
    const human = this.errStyle.red(`error: ${text}`) + (hint ? ` (${hint})` : '');
    this.write(this.streams.stderr, text, 'error', { ...fields, hint }, human);
  }

  /** Raw multi-line text on stderr (a stack trace under --verbose). */
  stack(text: string): void {
    this.write(this.streams.stderr, text.split('\n')[0] ?? '', 'error', { stack: text }, this.errStyle.dim(text), true);
  }

  /** A JSON log record only (nothing in human format): facts a log pipeline wants as fields. */
  record(level: LogLevel, text: string, fields: LogFields): void {
    if (this.jsonLog) this.write(this.streams.stderr, text, level, fields);
  }

  /**
   * A line from a child ontime (run-due): human lines get the `[job] ` prefix; a child's JSON
   * record is already complete and passes through as it is.
   */
  childLine(stream: 'stdout' | 'stderr', job: string, text: string): void {
    const target = stream === 'stdout' ? this.human : this.streams.stderr;
    if (this.jsonLog && text.startsWith('{')) {
      this.clearProgress();
      target.write(redact(text) + '\n');
      return;
    }
    this.write(target, text, 'info', this.jsonLog ? { child: job } : undefined, `[${job}] ${text}`);
  }

  /** The one JSON object of a --json run, on stdout; on one line in the JSON log format. */
  emitJson(value: unknown): void {
    this.clearProgress();
    this.streams.stdout.write(redact(JSON.stringify(value, null, this.jsonLog ? undefined : 2)) + '\n');
  }

  /** Progress on a terminal only: never under --json or JSON logs, never into a log file. */
  get progressEnabled(): boolean {
    return !this.json && !this.jsonLog && this.streams.stderr.isTTY === true;
  }

  progress(text: string): void {
    if (!this.progressEnabled) return;
    this.streams.stderr.write(`\r\x1b[2K${text}`);
    this.progressShown = true;
  }

  clearProgress(): void {
    if (!this.progressShown) return;
    this.streams.stderr.write('\r\x1b[2K');
    this.progressShown = false;
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;
// eslint-disable-next-line no-control-regex
const COLOUR_CODE = /\x1b\[[0-9;]*m/g;

/**
 * One printed line holds one line: text from the database (a case reference with CR/LF, a title
 * with terminal escape sequences) is shown escaped, so it can neither forge a line of the log or
 * the alert's last lines nor drive the terminal. Only colour codes survive, and only when colour
 * is on (when it is off, any ESC came from the data).
 */
export function printable(text: string, colour: boolean): string {
  const escape = (s: string) =>
    s.replace(CONTROL, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  if (!colour) return escape(text);
  let out = '';
  let last = 0;
  for (const m of text.matchAll(COLOUR_CODE)) {
    out += escape(text.slice(last, m.index)) + m[0];
    last = m.index! + m[0].length;
  }
  return out + escape(text.slice(last));
}

/** `2026-11-23 02:00:00 UTC`, the form of docs/reference/jobs.md's example output. */
export function formatUtc(d: Date): string {
  return d.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
}

/**
 * `1,234,567`: a whole number with thousands separators, as toLocaleString('en-US') prints it,
 * without waking ICU (its first use costs a run tens of milliseconds and ~8 MB).
 */
export function groupDigits(n: number): string {
  const s = String(Math.round(n));
  return s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A run's length for people: `850ms`, `42s`, `3m 05s`, `1h 02m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}
