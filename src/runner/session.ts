/**
 * What every command run shares, jobs and admin commands alike: reading configuration, one
 * Output, connecting on demand, turning whatever is thrown into one line and an exit code, and
 * closing connections in `finally`. Written once; commands never set exit codes themselves.
 */
import type { Knex } from 'knex';
import { loadConfig, type Config } from '../config.js';
import { classifyDatabaseError, ConfigError, describeError, ExitCode, UsageError } from '../errors.js';
import { Output, type Streams } from '../output.js';
import { getProcessHooks, type RunHooks } from './hooks.js';
import { parseLogFormat, type LogFormat } from '../log-record.js';

export interface Invocation {
  streams: Streams;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Test seams (runner/hooks.ts); absent in production, where every hook is a no-op. */
  hooks?: Partial<RunHooks>;
  /** --log-format, when given; otherwise ONTIME_LOG_FORMAT decides. */
  logFormat?: LogFormat;
}

export function defaultInvocation(): Invocation {
  return { streams: { stdout: process.stdout, stderr: process.stderr }, env: process.env, cwd: process.cwd(), hooks: getProcessHooks() };
}

export interface Session {
  readonly out: Output;
  readonly config: Config;
  /** Connects on first call; the connection is closed when the command ends. */
  db(): Promise<Knex>;
  /** Registers cleanup (closing a mail pool, releasing a lock) to run before the database closes. */
  onClose(fn: () => Promise<void> | void): void;
}

export interface SessionOptions {
  json?: boolean;
  verbose?: boolean;
  /** Extra fields for the JSON object printed when the command fails under --json. */
  jsonOnError?: () => Record<string, unknown>;
  /** The job this command runs, for JSON log records (even the error of a run that never started). */
  job?: string;
}

export async function withSession(
  inv: Invocation,
  options: SessionOptions,
  body: (session: Session) => Promise<number>,
): Promise<number> {
  // The environment's format from the first line on; a bad value is reported once the config is read.
  const early = inv.logFormat ?? (inv.env.ONTIME_LOG_FORMAT?.trim().toLowerCase() === 'json' ? 'json' : 'human');
  const out = new Output(inv.streams, { json: options.json, verbose: options.verbose, env: inv.env, logFormat: early });
  if (options.job) out.context.job = options.job;
  let knex: Knex | undefined;
  const closers: Array<() => Promise<void> | void> = [];
  let config: Config | undefined;
  try {
    config = loadConfig(inv.env, inv.cwd);
    const cfg = config;
    out.useLogFormat(inv.logFormat ?? parseLogFormat(cfg.env.ONTIME_LOG_FORMAT));
    if (cfg.database.isDefault) {
      out.notice('notice: DATABASE_URL is not set; using the embedded SQLite database ./ontime.sqlite3');
    }
    const session: Session = {
      out,
      config: cfg,
      async db() {
        if (!knex) {
          const { connect } = await import('../db/connect.js');
          knex = await connect(cfg.database, { schema: cfg.schema });
        }
        return knex;
      },
      onClose(fn) {
        closers.push(fn);
      },
    };
    return await body(session);
  } catch (err) {
    const classified = config ? (classifyDatabaseError(err, config.database.display) ?? err) : err;
    const described = describeError(classified);
    out.error(described.message, described.hint, { exitCode: described.exitCode });
    // A usage error's message is the whole story; a stack trace would only look like a bug.
    if (options.verbose && err instanceof Error && err.stack && !(err instanceof UsageError)) out.stack(err.stack);
    if (options.json) {
      out.emitJson({ ...(options.jsonOnError?.() ?? {}), status: 'failed', exitCode: described.exitCode, error: described.message });
    }
    return described.exitCode;
  } finally {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (err) {
        out.warn(`while closing: ${(err as Error).message}`);
      }
    }
    await knex?.destroy().catch(() => undefined);
  }
}

/** Exit 78 with the fix when the schema is behind the code. */
export async function assertMigrated(knex: Knex): Promise<void> {
  const { pendingMigrations } = await import('../db/migrations/index.js');
  const pending = await pendingMigrations(knex);
  if (pending.length > 0) {
    throw new ConfigError(
      `the database is not migrated (${pending.length} pending: ${pending.join(', ')})`,
      'run `ontime migrate`',
    );
  }
}

export { ExitCode };

/** Slack for `--now` against the clock: a value typed a moment ago is not "the future". */
export const NOW_SLACK_MS = 1000;

/** A `--now` in the future without --dry-run is refused (64) before connecting: it changes data early. */
export function refuseFutureNow(now: Date | undefined, clock: Date, dryRun: boolean, hint: string): void {
  if (now && !dryRun && now.getTime() > clock.getTime() + NOW_SLACK_MS) {
    throw new UsageError(`--now ${now.toISOString()} is later than the clock (${clock.toISOString()})`, hint);
  }
}
