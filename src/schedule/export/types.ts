/** What every exporter takes and gives: registry jobs and options in, named text files out. */
import type { JobDefinition } from '../../registry.js';

/** The part of a registry entry an exporter reads. */
export type ExportJob = Pick<JobDefinition, 'name' | 'alias' | 'description' | 'schedule' | 'timeoutSeconds' | 'runArgs' | 'external' | 'shardable'>;

export interface ExportOptions {
  /**
   * How the target starts ontime, in exec form: `ontime`, `node /srv/app/node_modules/ontime/bin/ontime`,
   * `docker compose exec -T web ontime`. Never `npx` or `sh -c`: they do not pass SIGTERM on.
   */
  command: string;
  cwd?: string;
  envFile?: string;
  logDir?: string;
  image?: string;
  namespace?: string;
  secret?: string;
  /** k8s: put before every object name, so two deployments in one namespace do not collide. */
  namePrefix?: string;
  /** k8s: mount the Secret as files and set these variables' `<NAME>_FILE` (else envFrom the Secret). */
  secretsAsFiles?: string[];
  /** The package version: the default image tag (k8s). */
  version?: string;
  /** systemd RandomizedDelaySec, in seconds. */
  randomizedDelaySec?: number;
  /** k8s: run every shardable job as an Indexed Job of this many pods, one shard each (--shards). */
  shards?: number;
  /** ONTIME_TIMEZONE: the zone schedules are read in. */
  timeZone: string;
  /** Where the schedules came from, for the header comment (default: the built-in defaults). */
  scheduleSource?: string;
}

export interface ExportedFile {
  /** File name (no directory) used with --out. */
  name: string;
  content: string;
  /** Byte encoding of the file written with --out (stdout is always UTF-8). */
  encoding?: 'utf8' | 'utf16le-bom';
  /** A different text for stdout, when the file form differs (e.g. the XML encoding label). */
  stdoutContent?: string;
}

export interface ExportResult {
  files: ExportedFile[];
  /** Options given that this platform does not use (the command warns about them). */
  ignoredOptions: string[];
}

/** A schedule the platform cannot express; names the job and the expression. */
export class ExportError extends Error {
  constructor(
    readonly job: string,
    readonly expression: string,
    readonly platform: string,
    problem: string,
  ) {
    super(`${platform} cannot express the schedule of ${job} ("${expression}"): ${problem}`);
    this.name = 'ExportError';
  }
}
