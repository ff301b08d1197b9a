/**
 * Running an admin command (src/admin.ts): the pre-steps its entry declares, done once here —
 * the session (configuration, output, error → one line and an exit code, closing), the job
 * argument resolved before connecting, the module's own usage checks, the connection and the
 * migrations check — then the command itself with everything it needs in an AdminContext.
 */
import type { Knex } from 'knex';
import type { AdminCommand } from '../admin.js';
import type { Config } from '../config.js';
import type { Output } from '../output.js';
import { resolveJob, type JobDefinition } from '../registry.js';
import { assertMigrated, withSession, type Invocation, type Session } from './session.js';

/** Options as commander gives them, plus the positional arguments. */
export type AdminOptions = Record<string, unknown> & { args: string[] };

export interface AdminContext {
  readonly session: Session;
  readonly out: Output;
  readonly config: Config;
  /** Connected; for `migrated-db` commands the schema is known to be current. */
  readonly db: Knex;
  /** The job the command's job argument names, resolved; undefined when it was left out. */
  readonly job?: JobDefinition;
  readonly inv: Invocation;
}

export interface AdminModule {
  default: (ctx: AdminContext, options: any) => Promise<number>;
  /** Usage checks of the options (exit 64), run before connecting. */
  validate?: (options: any) => void;
}

export interface StandaloneModule {
  default: (options: any, inv: Invocation) => Promise<number>;
}

export async function runAdmin(spec: AdminCommand, options: AdminOptions, inv: Invocation): Promise<number> {
  if (spec.needs === 'none') {
    const { default: run } = await spec.load();
    return run(options, inv);
  }
  const mod = await spec.load();
  const sessionOptions = {
    json: options.json === true,
    verbose: options.verbose === true,
    jsonOnError: spec.jsonOnError ? () => spec.jsonOnError!(options) : undefined,
  };
  return withSession(inv, sessionOptions, async (session) => {
    const named = options.args[0];
    const job = spec.argument?.job && named !== undefined ? resolveJob(named) : undefined;
    mod.validate?.(options);
    const db = await session.db();
    if (spec.needs === 'migrated-db') await assertMigrated(db);
    return mod.default({ session, out: session.out, config: session.config, db, job, inv }, options);
  });
}
