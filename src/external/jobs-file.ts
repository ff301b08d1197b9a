/**
 * The jobs file: commands ontime did not write (a Django management command, a script), declared
 * in `ontime.jobs.yaml` / `ontime.jobs.json` in the working directory or the file named by
 * ONTIME_JOBS_FILE, and run with the same lock, history, signals and alerts as a built-in job.
 * Read only by the commands that list or run jobs (never for `--help`), and YAML's parser only
 * when the file is YAML.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { readEnvironment } from '../config.js';
import { ConfigError } from '../errors.js';
import { builtInJobNames, setExternalJobs, type JobDefinition } from '../registry.js';
import type { Invocation } from '../runner/session.js';
import { validateJobsDocument, type ExternalJobSpec } from './validate.js';

export const JOBS_FILE_NAMES = ['ontime.jobs.yaml', 'ontime.jobs.yml', 'ontime.jobs.json'];

/** Which file to read: ONTIME_JOBS_FILE (which must exist), else the one in the working directory, else none. */
export function findJobsFile(env: NodeJS.ProcessEnv, cwd: string): string | null {
  const named = readEnvironment(env, cwd).ONTIME_JOBS_FILE?.trim();
  if (named) {
    const path = isAbsolute(named) ? named : join(cwd, named);
    if (!existsSync(path)) throw new ConfigError(`ONTIME_JOBS_FILE names ${path}, which does not exist`, 'fix the path, or unset ONTIME_JOBS_FILE');
    return path;
  }
  const present = JOBS_FILE_NAMES.map((n) => join(cwd, n)).filter((p) => existsSync(p));
  if (present.length > 1) throw new ConfigError(`both ${present.join(' and ')} exist`, 'keep one jobs file');
  return present[0] ?? null;
}

async function parseFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the jobs file ${path}: ${(err as Error).message}`);
  }
  if (path.endsWith('.json')) {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`the jobs file ${path} is not valid JSON: ${(err as Error).message}`);
    }
  }
  const { parse } = await import('yaml');
  try {
    return parse(text);
  } catch (err) {
    throw new ConfigError(`the jobs file ${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** Read and check a jobs file; every problem in one ConfigError (78) naming entry and field. */
export async function readJobsFile(path: string): Promise<ExternalJobSpec[]> {
  const doc = await parseFile(path);
  const { specs, problems } = validateJobsDocument(doc ?? {}, builtInJobNames());
  if (problems.length > 0) {
    const list = problems.map((p) => `${p.where}: ${p.message}`);
    // The hint is part of the message: this error is reported before any session exists.
    throw new ConfigError(`the jobs file ${path} is invalid: ${list.join('; ')} (its format: docs/external-jobs.md, schemas/ontime.jobs.schema.json)`);
  }
  // A relative cwd is read from the file's own directory, wherever ontime is started.
  return specs.map((s) => (s.cwd ? { ...s, cwd: resolve(dirname(path), s.cwd) } : s));
}

/** How the command reads in a listing: the argv joined, or the shell line. */
export function commandText(spec: ExternalJobSpec): string {
  if (typeof spec.command === 'string') return `sh -c ${JSON.stringify(spec.command)}`;
  return spec.command.map((w) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : JSON.stringify(w))).join(' ');
}

/** A registry entry for an external job: started as `ontime run <name>`, its handler runs the command. */
export function externalJobDefinition(spec: ExternalJobSpec): JobDefinition {
  return {
    name: spec.name,
    alias: spec.name.replace(/-/g, '_'),
    description: spec.description ?? `runs ${commandText(spec)}`,
    schedule: spec.schedule,
    timeoutSeconds: Math.ceil(spec.timeoutMs / 1000),
    options: [],
    runArgs: ['run', spec.name],
    external: spec,
    load: async () => ({ default: (await import('../jobs/external/index.js')).externalJobHandler(spec) }),
  };
}

/** Read the jobs file of this invocation (if any) into the registry. */
export async function loadExternalJobs(inv: Pick<Invocation, 'env' | 'cwd'>): Promise<void> {
  const path = findJobsFile(inv.env, inv.cwd);
  const specs = path ? await readJobsFile(path) : [];
  // Without a cwd of its own, a command runs where ontime was started.
  setExternalJobs(specs.map((s) => externalJobDefinition({ ...s, cwd: s.cwd ?? inv.cwd })));
}
