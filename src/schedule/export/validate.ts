/**
 * What every exporter may rely on about its options, checked once before any file is written, and
 * the escaping the target formats need. Option values end up inside crontab lines, unit files,
 * YAML and cmd.exe command lines; a value that could break out of its field is refused (64).
 */
import { UsageError } from '../../errors.js';
import type { ExportOptions } from './types.js';

const FLAGS: Record<string, string> = {
  command: '--command',
  cwd: '--cwd',
  envFile: '--env-file',
  logDir: '--log-dir',
  image: '--image',
  namespace: '--namespace',
  secret: '--secret',
};

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Characters cmd.exe interprets inside the schtasks command line even within quotes. */
const CMD_SPECIAL = /["%&]/;

export function validateExportOptions(platform: string, options: ExportOptions): void {
  for (const [key, flag] of Object.entries(FLAGS)) {
    const value = options[key as keyof ExportOptions];
    if (typeof value !== 'string') continue;
    if (CONTROL.test(value)) {
      throw new UsageError(`${flag} contains a control character (a line break, tab, NUL...)`, 'give the value on one line, without control characters');
    }
  }
  if (options.namespace !== undefined && (options.namespace.length > 63 || !DNS_1123_LABEL.test(options.namespace))) {
    throw new UsageError(
      `--namespace "${options.namespace}" is not a Kubernetes namespace name`,
      'use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit (DNS-1123 label)',
    );
  }
  if (options.secret !== undefined && (options.secret.length > 253 || !DNS_1123_SUBDOMAIN.test(options.secret))) {
    throw new UsageError(
      `--secret "${options.secret}" is not a Kubernetes Secret name`,
      'use lower-case letters, digits, "-" and "." (DNS-1123 subdomain, at most 253 characters)',
    );
  }
  if (platform === 'schtasks') {
    for (const key of ['cwd', 'logDir'] as const) {
      const value = options[key];
      if (value !== undefined && CMD_SPECIAL.test(value)) {
        throw new UsageError(
          `${FLAGS[key]} "${value}" contains ${value.match(CMD_SPECIAL)![0]}, which cmd.exe would interpret inside the task's command line`,
          'choose a directory whose path has no ", % or & in it',
        );
      }
    }
  }
}

/** In a crontab line an unescaped % ends the command (the rest becomes its stdin). */
export function cronEscape(text: string): string {
  return text.replace(/%/g, '\\%');
}

/** systemd expands %-specifiers in unit values; %% is a literal %. */
export function systemdEscape(text: string): string {
  return text.replace(/%/g, '%%');
}
