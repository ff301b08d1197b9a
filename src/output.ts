/**
 * Everything ontime prints goes through here: the colour decision, human lines versus --json,
 * progress on a terminal, and redaction of secrets.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import { redact } from './errors.js';

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

export interface OutputOptions {
  json?: boolean;
  verbose?: boolean;
  env?: Record<string, string | undefined>;
}

export class Output {
  readonly json: boolean;
  readonly verbose: boolean;
  /** Styles for human lines. Colourless when colour is off. */
  readonly style: ChalkInstance;
  private readonly errStyle: ChalkInstance;
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
    // Human lines go to stderr under --json, so their colour follows that stream.
    const humanStream = this.json ? streams.stderr : streams.stdout;
    this.style = new Chalk({ level: colourWanted(env, humanStream) ? 1 : 0 });
    this.errStyle = new Chalk({ level: colourWanted(env, streams.stderr) ? 1 : 0 });
  }

  private get human(): WritableLike {
    return this.json ? this.streams.stderr : this.streams.stdout;
  }

  private write(stream: WritableLike, text: string, raw = false): void {
    this.clearProgress();
    const safe = redact(raw ? text : printable(text, this.style.level > 0 || this.errStyle.level > 0));
    this.remember(safe);
    stream.write(safe + '\n');
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
  line(text = ''): void {
    this.write(this.human, text);
  }

  /** A human line shown only with --verbose. */
  detail(text: string): void {
    if (this.verbose) this.write(this.human, text);
  }

  heading(text: string): void {
    this.line(this.style.bold(text));
  }

  /** Notices and warnings always go to stderr, so stdout stays the job's report. */
  notice(text: string): void {
    this.write(this.streams.stderr, text);
  }

  warn(text: string): void {
    this.write(this.streams.stderr, this.errStyle.yellow(`warning: ${text}`));
  }

  error(text: string, hint?: string): void {
    this.write(this.streams.stderr, this.errStyle.red(`error: ${text}`) + (hint ? ` (${hint})` : ''));
  }

  /** Raw multi-line text on stderr (a stack trace under --verbose). */
  stack(text: string): void {
    this.write(this.streams.stderr, this.errStyle.dim(text), true);
  }

  /** The one JSON object of a --json run, on stdout. */
  emitJson(value: unknown): void {
    this.clearProgress();
    this.streams.stdout.write(redact(JSON.stringify(value, null, 2)) + '\n');
  }

  /** Progress on a terminal only: never under --json, never into a log file. */
  get progressEnabled(): boolean {
    return !this.json && this.streams.stderr.isTTY === true;
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

/** `2026-11-23 02:00:00 UTC`, the form of jobs.md's example output. */
export function formatUtc(d: Date): string {
  return d.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
