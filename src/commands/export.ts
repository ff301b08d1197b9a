/**
 * `ontime export <crontab|schtasks|k8s|systemd>`: the platform's schedule configuration for every
 * job, from the registry, with the schedules set by `ontime schedule` when the database can be
 * read. Needs no database: unreachable (or --defaults) → the built-in schedules, said on stderr
 * and in the header comment; knex is loaded only when there is a database to ask.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadConfig, readEnvironment, SECRET_VARIABLES } from '../config.js';
import { binPath } from '../dispatch/spawn-job.js';
import { ConfigError, describeError, ExitCode, redact, UsageError } from '../errors.js';
import { Output } from '../output.js';
import { parseDuration } from '../parse.js';
import { jobs } from '../registry.js';
import type { ExportJob } from '../schedule/export/index.js';
import type { Invocation } from '../runner/session.js';
import { packageVersion } from '../version.js';
import { assertTimeZone, TimeZoneError } from '../schedule/cron.js';
import { shQuote, splitWords } from '../schedule/export/common.js';
import { validateExportOptions } from '../schedule/export/validate.js';
import { ExportError, exportPlatform, isPlatform, PLATFORMS, type ExportedFile, type ExportOptions } from '../schedule/export/index.js';
import { K8S_DEFAULTS } from '../schedule/export/k8s.js';

export interface ExportCommandOptions {
  args: string[];
  command?: string;
  cwd?: string;
  envFile?: string;
  logDir?: string;
  image?: string;
  namespace?: string;
  secret?: string;
  namePrefix?: string;
  /** `--secrets-as-files` alone (true) or with a comma-separated list of variables. */
  secretsAsFiles?: boolean | string;
  randomizedDelay?: string;
  out?: string;
  /** Export the built-in schedules; do not read the database. */
  defaults?: boolean;
  verbose?: boolean;
}

/**
 * The default command of each platform, in exec form so that the platform's SIGTERM reaches
 * ontime (npx and `sh -c` keep it to themselves: the run would be killed, not stopped).
 * crontab and systemd: this very installation by absolute paths (cron's PATH is short, and an
 * nvm node is not on it). k8s: `ontime` on the image's PATH (the Dockerfile's ENTRYPOINT).
 * schtasks: the global install's `ontime.cmd`.
 */
export function defaultCommand(platform: string): string {
  if (platform === 'k8s' || platform === 'schtasks') return 'ontime';
  return `${shQuote(process.execPath)} ${shQuote(binPath())}`;
}

/** Launchers that do not pass a signal on to the ontime they start. */
const SIGNAL_SWALLOWERS = /^(npx|npm|yarn|pnpm|sh|bash|dash)(\.cmd)?$/;

const OPTION_FLAGS: Record<string, string> = {
  cwd: '--cwd',
  envFile: '--env-file',
  logDir: '--log-dir',
  image: '--image',
  namespace: '--namespace',
  secret: '--secret',
  randomizedDelaySec: '--randomized-delay',
  namePrefix: '--name-prefix',
  secretsAsFiles: '--secrets-as-files',
};

/** Prepended to DNS-1123 object names: lower-case letters, digits and hyphens. */
function parseNamePrefix(prefix: string | undefined): string | undefined {
  if (prefix === undefined) return undefined;
  if (!/^[a-z0-9]([a-z0-9-]{0,19})$/.test(prefix)) {
    throw new UsageError(`--name-prefix "${prefix}" must be up to 20 lower-case letters, digits and hyphens, starting with a letter or digit`);
  }
  return prefix.endsWith('-') ? prefix : `${prefix}-`;
}

function parseSecretsAsFiles(value: boolean | string | undefined): string[] | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return K8S_DEFAULTS.secretsAsFiles;
  const names = value.split(',').map((n) => n.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(SECRET_VARIABLES as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new UsageError(`--secrets-as-files takes secret variables (${SECRET_VARIABLES.join(', ')}), not "${value}"`);
  }
  return names;
}


export default async function exportCommand(options: ExportCommandOptions, inv: Invocation): Promise<number> {
  const out = new Output(inv.streams, { verbose: options.verbose, env: inv.env });
  try {
    const platform = options.args[0] ?? '';
    if (!isPlatform(platform)) {
      throw new UsageError(`unknown platform "${platform}"; choose one of: ${Object.keys(PLATFORMS).join(', ')}`);
    }
    const timeZone = (readEnvironment(inv.env, inv.cwd).ONTIME_TIMEZONE ?? '').trim() || 'UTC';
    try {
      assertTimeZone(timeZone);
    } catch (err) {
      if (err instanceof TimeZoneError) throw new ConfigError(`ONTIME_TIMEZONE: ${err.message}`);
      throw err;
    }
    const exportOptions: ExportOptions = {
      command: options.command?.trim() || defaultCommand(platform),
      cwd: options.cwd,
      envFile: options.envFile,
      logDir: options.logDir,
      image: options.image,
      namespace: options.namespace,
      secret: options.secret,
      namePrefix: parseNamePrefix(options.namePrefix),
      secretsAsFiles: parseSecretsAsFiles(options.secretsAsFiles),
      version: packageVersion(),
      randomizedDelaySec:
        options.randomizedDelay === undefined ? undefined : Math.round(parseDuration('--randomized-delay', 86_400_000)(options.randomizedDelay) / 1000),
      timeZone,
    };
    const schedules = await readSchedules(inv, Boolean(options.defaults), out);
    exportOptions.scheduleSource = schedules.source;
    validateExportOptions(platform, exportOptions);
    let result;
    try {
      result = exportPlatform(platform, schedules.jobs, exportOptions);
    } catch (err) {
      if (err instanceof ExportError) {
        throw new ConfigError(err.message, 'use a schedule this platform can express, or run `ontime run-due` from one task every minute');
      }
      throw err;
    }
    for (const key of result.ignoredOptions) out.warn(`${OPTION_FLAGS[key] ?? key} has no effect on ${platform}`);
    const launcher = basename(splitWords(exportOptions.command)[0] ?? '');
    if (SIGNAL_SWALLOWERS.test(launcher) && platform !== 'schtasks') {
      out.warn(
        `--command starts with ${launcher}, which does not pass SIGTERM on to ontime: a stopped run is killed instead of finishing its batch and is left "running"; start ontime itself (the ontime binary, or node <path>/bin/ontime)`,
      );
    }

    if (options.out) {
      const dir = resolve(inv.cwd, options.out);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      for (const file of result.files) {
        writeFileSync(join(dir, file.name), encode(file));
        out.notice(`wrote ${join(dir, file.name)}`);
      }
      return ExitCode.ok;
    }
    inv.streams.stdout.write(redact(toStdout(platform, result.files)));
    return ExitCode.ok;
  } catch (err) {
    const described = describeError(err);
    out.error(described.message, described.hint);
    if (options.verbose && err instanceof Error && err.stack && !(err instanceof UsageError)) out.stack(err.stack);
    return described.exitCode;
  }
}

/**
 * The jobs with the schedules in force. The database is asked only when it exists and answers;
 * otherwise the built-in schedules are exported with a note. A stored schedule that does not parse
 * is still an error (78): exporting the default in its place would undo the operator's change.
 */
async function readSchedules(inv: Invocation, useDefaults: boolean, out: Output): Promise<{ jobs: readonly ExportJob[]; source: string }> {
  const defaults = (why: string) => ({ jobs, source: `the built-in defaults (${why})` });
  if (useDefaults) return defaults('--defaults: the database was not read');
  const fallBack = (why: string) => {
    out.notice(`note: exporting the built-in schedules: ${why}; schedules set with \`ontime schedule\` are not included`);
    return defaults('the database could not be read');
  };
  let config;
  try {
    config = loadConfig(inv.env, inv.cwd);
  } catch (err) {
    return fallBack(describeError(err).message);
  }
  if (config.database.dialect === 'sqlite' && !existsSync(config.database.filename!)) {
    return fallBack(`no database at ${config.database.filename}`);
  }
  const { connect } = await import('../db/connect.js');
  let knex;
  try {
    knex = await connect(config.database, { schema: config.schema });
    const { assertMigrated } = await import('../runner/session.js');
    await assertMigrated(knex);
  } catch (err) {
    await knex?.destroy();
    return fallBack(describeError(err).message);
  }
  try {
    const { jobsWithSchedules } = await import('../db/job-settings.js');
    const list = await jobsWithSchedules(knex);
    const own = list.filter((j) => j.scheduleOverridden).map((j) => j.name);
    return {
      jobs: list,
      source: own.length
        ? `read from the database; set with \`ontime schedule\`: ${own.join(', ')}; the rest are the built-in defaults`
        : 'read from the database; none set with `ontime schedule`, so the built-in defaults',
    };
  } finally {
    await knex.destroy();
  }
}

function encode(file: ExportedFile): Buffer {
  if (file.encoding === 'utf16le-bom') return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(file.content, 'utf16le')]);
  return Buffer.from(file.content, 'utf8');
}

/** Every file on stdout, each after a comment line naming it (a single crontab is printed as is). */
function toStdout(platform: string, files: ExportedFile[]): string {
  if (files.length === 1) return files[0]!.stdoutContent ?? files[0]!.content;
  return files
    .map((file) => {
      const text = (file.stdoutContent ?? file.content).replace(/\r\n/g, '\n');
      if (file.name.endsWith('.xml')) return `<!-- ===== ${file.name} ===== -->\n${text}`;
      if (file.name.endsWith('.cmd')) return `REM ===== ${file.name} =====\n${text}`;
      // A YAML document separator too, so `ontime export k8s | kubectl apply -f -` works.
      return `${platform === 'k8s' ? '---\n' : ''}# ===== ${file.name} =====\n${text}`;
    })
    .join('\n');
}
