/**
 * The checks of a jobs file's content, entry by entry, field by field. Every problem names the
 * entry (its position and, when readable, its name) and the field, so the operator can go
 * straight to the line. The same rules are written down for editors in
 * schemas/ontime.jobs.schema.json; a test keeps the two in agreement.
 */
import { UsageError } from '../errors.js';
import { LIMITS, parseDuration } from '../parse.js';
import { CronExpressionError, parseCron } from '../schedule/cron.js';

/** What a mapped exit code of the command means to ontime (and the exit code ontime then uses). */
export type ExternalOutcome = 'succeeded' | 'partial' | 'failed' | 'retry';

export const OUTCOME_EXIT_CODES: Record<ExternalOutcome, number> = { succeeded: 0, partial: 1, failed: 70, retry: 75 };

export interface ExternalJobSpec {
  name: string;
  /** argv (run without a shell), or one string run by /bin/sh -c when shell is true. */
  command: string[] | string;
  shell: boolean;
  schedule: string | null;
  timeoutMs: number;
  cwd?: string;
  env: Record<string, string>;
  /** Child exit code → outcome; a code not listed is `failed`. */
  exitCodes: Record<string, ExternalOutcome>;
  killAfterMs: number;
  description?: string;
}

/** The grace period between SIGTERM and SIGKILL when neither the file nor --kill-after says. */
export const DEFAULT_KILL_AFTER_MS = 25_000;

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const FIELDS = new Set(['name', 'command', 'shell', 'schedule', 'timeout', 'cwd', 'env', 'exitCodes', 'killAfter', 'description']);
/** 0 to 255, written without leading zeros (the same pattern as the schema's). */
const EXIT_CODE = /^(0|[1-9][0-9]?|1[0-9][0-9]|2[0-4][0-9]|25[0-5])$/;
const OUTCOMES = new Set<string>(Object.keys(OUTCOME_EXIT_CODES));

/** The problems of one file; empty when it is valid. */
export interface Problem {
  /** `jobs[2] (nightly-report).schedule` */
  where: string;
  message: string;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function duration(value: unknown): number | string {
  if (typeof value !== 'string' && typeof value !== 'number') return 'must be a duration such as "90s", "15m" or "2h"';
  try {
    return parseDuration('it', LIMITS.timeoutMs)(String(value));
  } catch (err) {
    return (err as UsageError).message.replace(/^it /, '');
  }
}

/** Check one entry; push its problems, return the spec when there were none. */
export function validateEntry(entry: unknown, index: number, builtIn: ReadonlySet<string>, problems: Problem[]): ExternalJobSpec | undefined {
  const label = isPlainObject(entry) && typeof entry.name === 'string' ? `jobs[${index}] (${entry.name})` : `jobs[${index}]`;
  const before = problems.length;
  const fault = (field: string | null, message: string) => problems.push({ where: field ? `${label}.${field}` : label, message });
  if (!isPlainObject(entry)) {
    fault(null, 'must be a mapping with at least name, command and timeout');
    return undefined;
  }
  for (const key of Object.keys(entry)) if (!FIELDS.has(key)) fault(key, `is not a field of a job (the fields are: ${[...FIELDS].join(', ')})`);

  const name = entry.name;
  if (typeof name !== 'string') fault('name', 'is required: a kebab-case name such as "notify-aging-logsheets"');
  else if (!NAME.test(name)) fault('name', `"${name}" is not kebab-case (lower-case letters and digits, words joined by "-")`);
  else if (builtIn.has(name)) fault('name', `"${name}" is the name of a built-in job; choose another`);

  const shell = entry.shell ?? false;
  if (typeof shell !== 'boolean') fault('shell', 'must be true or false');
  const command = entry.command;
  if (Array.isArray(command)) {
    if (command.length === 0) fault('command', 'is empty: give the program and its arguments, e.g. ["python", "manage.py", "clearsessions"]');
    command.forEach((word, i) => {
      if (typeof word !== 'string') fault(`command[${i}]`, 'must be a string');
    });
    if (command.length > 0 && command[0] === '') fault('command[0]', 'the program name is empty');
  } else if (typeof command === 'string') {
    if (shell !== true) fault('command', 'is one string: give a list of words (run without a shell), or add `shell: true` to run it with /bin/sh -c');
    else if (command.trim() === '') fault('command', 'is empty');
  } else {
    fault('command', 'is required: a list of words, e.g. ["python", "manage.py", "clearsessions"]');
  }

  let schedule: string | null = null;
  if (entry.schedule !== undefined && entry.schedule !== null) {
    if (typeof entry.schedule !== 'string') fault('schedule', 'must be a five-field cron expression in quotes, e.g. "0 2 * * *"');
    else {
      try {
        schedule = parseCron(entry.schedule).expression;
      } catch (err) {
        fault('schedule', err instanceof CronExpressionError ? err.message : String(err));
      }
    }
  }

  let timeoutMs = 0;
  if (entry.timeout === undefined) fault('timeout', 'is required: how long the command may run, e.g. "15m" (it is stopped after that)');
  else {
    const t = duration(entry.timeout);
    if (typeof t === 'string') fault('timeout', t);
    else timeoutMs = t;
  }
  let killAfterMs = DEFAULT_KILL_AFTER_MS;
  if (entry.killAfter !== undefined) {
    const k = duration(entry.killAfter);
    if (typeof k === 'string') fault('killAfter', k);
    else killAfterMs = k;
  }

  if (entry.cwd !== undefined && (typeof entry.cwd !== 'string' || entry.cwd === '')) fault('cwd', 'must be a directory path');
  if (entry.description !== undefined && typeof entry.description !== 'string') fault('description', 'must be a string');

  const env: Record<string, string> = {};
  if (entry.env !== undefined) {
    if (!isPlainObject(entry.env)) fault('env', 'must be a mapping of variable names to values');
    else {
      for (const [key, value] of Object.entries(entry.env)) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) fault(`env.${key}`, 'is not a valid environment variable name');
        else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') env[key] = String(value);
        else fault(`env.${key}`, 'must be a string');
      }
    }
  }

  const exitCodes: Record<string, ExternalOutcome> = { '0': 'succeeded' };
  if (entry.exitCodes !== undefined) {
    if (!isPlainObject(entry.exitCodes)) fault('exitCodes', 'must be a mapping such as { "0": "succeeded", "1": "partial" }');
    else {
      for (const [code, outcome] of Object.entries(entry.exitCodes)) {
        if (!EXIT_CODE.test(code)) fault(`exitCodes.${code}`, 'is not an exit code (0 to 255)');
        else if (typeof outcome !== 'string' || !OUTCOMES.has(outcome)) fault(`exitCodes.${code}`, `must be one of ${[...OUTCOMES].join(', ')}`);
        else exitCodes[code] = outcome as ExternalOutcome;
      }
    }
  }

  if (problems.length > before) return undefined;
  return {
    name: name as string,
    command: command as string[] | string,
    shell: shell as boolean,
    schedule,
    timeoutMs,
    cwd: entry.cwd as string | undefined,
    env,
    exitCodes,
    killAfterMs,
    description: entry.description as string | undefined,
  };
}

/** Check a whole parsed file: `{ jobs: [...] }`, names unique and not built-in. */
export function validateJobsDocument(doc: unknown, builtIn: ReadonlySet<string>): { specs: ExternalJobSpec[]; problems: Problem[] } {
  const problems: Problem[] = [];
  if (!isPlainObject(doc)) return { specs: [], problems: [{ where: '(file)', message: 'must be a mapping with a top-level "jobs" list' }] };
  for (const key of Object.keys(doc)) {
    if (key !== 'jobs' && key !== '$schema') problems.push({ where: key, message: 'is not a top-level field (the file has one: jobs)' });
  }
  if (!Array.isArray(doc.jobs)) {
    problems.push({ where: 'jobs', message: 'is required: a list of jobs' });
    return { specs: [], problems };
  }
  const specs: ExternalJobSpec[] = [];
  const seen = new Map<string, number>();
  doc.jobs.forEach((entry, i) => {
    const spec = validateEntry(entry, i, builtIn, problems);
    if (!spec) return;
    const first = seen.get(spec.name);
    if (first !== undefined) problems.push({ where: `jobs[${i}] (${spec.name}).name`, message: `is already the name of jobs[${first}]` });
    else seen.set(spec.name, i);
    specs.push(spec);
  });
  return { specs, problems };
}
