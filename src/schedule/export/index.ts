/** The platforms `ontime export` knows, each a pure function: registry jobs + options → files. */
import { exportCrontab } from './crontab.js';
import { exportK8s } from './k8s.js';
import { exportSchtasks } from './schtasks.js';
import { exportSystemd } from './systemd.js';
import type { ExportJob, ExportOptions, ExportResult } from './types.js';

export const PLATFORMS = {
  crontab: exportCrontab,
  schtasks: exportSchtasks,
  k8s: exportK8s,
  systemd: exportSystemd,
} as const satisfies Record<string, (jobs: readonly ExportJob[], options: ExportOptions) => ExportResult>;

export type Platform = keyof typeof PLATFORMS;

export function isPlatform(name: string): name is Platform {
  return Object.hasOwn(PLATFORMS, name);
}

export function exportPlatform(platform: Platform, jobs: readonly ExportJob[], options: ExportOptions): ExportResult {
  return PLATFORMS[platform](jobs, options);
}

export type { ExportJob, ExportOptions, ExportResult, ExportedFile } from './types.js';
export { ExportError } from './types.js';
