/**
 * `ontime export <crontab|schtasks|k8s|systemd>`: the platform's schedule configuration for every
 * job, from the registry. Needs no database: it never connects, and never loads knex.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readEnvironment } from '../config.js';
import { ConfigError, describeError, ExitCode, redact, UsageError } from '../errors.js';
import { Output } from '../output.js';
import { parseDuration } from '../parse.js';
import { jobs } from '../registry.js';
import type { Invocation } from '../runner/session.js';
import { assertTimeZone, TimeZoneError } from '../schedule/cron.js';
import { validateExportOptions } from '../schedule/export/validate.js';
import { ExportError, exportPlatform, isPlatform, PLATFORMS, type ExportedFile, type ExportOptions } from '../schedule/export/index.js';

export interface ExportCommandOptions {
  args: string[];
  command?: string;
  cwd?: string;
  envFile?: string;
  logDir?: string;
  image?: string;
  namespace?: string;
  secret?: string;
  randomizedDelay?: string;
  out?: string;
  verbose?: boolean;
}

export const DEFAULT_COMMAND = 'npx ontime';

const OPTION_FLAGS: Record<string, string> = {
  cwd: '--cwd',
  envFile: '--env-file',
  logDir: '--log-dir',
  image: '--image',
  namespace: '--namespace',
  secret: '--secret',
  randomizedDelaySec: '--randomized-delay',
};

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
      command: options.command?.trim() || DEFAULT_COMMAND,
      cwd: options.cwd,
      envFile: options.envFile,
      logDir: options.logDir,
      image: options.image,
      namespace: options.namespace,
      secret: options.secret,
      randomizedDelaySec:
        options.randomizedDelay === undefined ? undefined : Math.round(parseDuration('--randomized-delay', 86_400_000)(options.randomizedDelay) / 1000),
      timeZone,
    };
    validateExportOptions(platform, exportOptions);
    let result;
    try {
      result = exportPlatform(platform, jobs, exportOptions);
    } catch (err) {
      if (err instanceof ExportError) {
        throw new ConfigError(err.message, 'use a schedule this platform can express, or run `ontime run-due` from one task every minute');
      }
      throw err;
    }
    for (const key of result.ignoredOptions) out.warn(`${OPTION_FLAGS[key] ?? key} has no effect on ${platform}`);

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
    if (options.verbose && err instanceof Error && err.stack) out.stack(err.stack);
    return described.exitCode;
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
