/**
 * DATABASE_URL → knex for the dialect. The only module that knows driver names; drivers and
 * knex itself are imported here, lazily, so commands that need no database start fast.
 */
import { dirname } from 'node:path';
import type { Knex } from 'knex';
import type { DatabaseConfig } from '../config.js';
import { classifyDatabaseError, ConfigError } from '../errors.js';
import { createPrivateFileIfMissing, makePrivateDir } from '../files.js';
import { driverTlsOptions } from './tls.js';
import { bindSchema } from './schema.js';
import type { Schema } from '../profiles/index.js';

export type Db = Knex;

let pgTypesConfigured = false;

/** The npm package knex loads for each dialect. */
export const DRIVER_PACKAGES = { postgres: 'pg', mysql: 'mysql2', sqlite: 'better-sqlite3' } as const;

/**
 * Import the dialect's driver, so a driver the installation lacks (an application that installed
 * ontime without it, or pruned it) is a configuration error naming the package to install, not
 * knex's stack trace from deep inside the pool.
 */
export async function loadDriver<T = unknown>(dialect: DatabaseConfig['dialect']): Promise<T> {
  const name = DRIVER_PACKAGES[dialect];
  try {
    return (await import(name)) as T;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((err as Error).message).includes(name)) {
      throw new ConfigError(`the ${dialect} driver is not installed (package "${name}")`, `install ${name}: npm install ${name}`, { cause: err });
    }
    throw err;
  }
}

/** better-sqlite3 is there but its native part was never built (its install script did not run). */
function unbuiltSqlite(err: unknown): ConfigError | undefined {
  if (!/Could not locate the bindings file|better_sqlite3\.node/i.test(String((err as Error)?.message))) return undefined;
  return new ConfigError(
    'the SQLite driver better-sqlite3 is installed but not built (its install script did not run)',
    'run `npm rebuild better-sqlite3`; for a global install: npm install -g --allow-scripts=better-sqlite3 ontime',
    { cause: err },
  );
}

async function configurePgTypes(): Promise<void> {
  if (pgTypesConfigured) return;
  const pg = (await loadDriver<typeof import('pg')>('postgres')).default;
  // date → 'YYYY-MM-DD' as stored, not a Date at local midnight.
  pg.types.setTypeParser(1082, (v: string) => v);
  // timestamp without time zone (written by other programs) is UTC by our convention.
  pg.types.setTypeParser(1114, (v: string) => new Date(v.replace(' ', 'T') + 'Z'));
  // bigint ids and count(*) as numbers: ids stay far below 2^53.
  pg.types.setTypeParser(20, (v: string) => Number(v));
  pg.types.setTypeParser(1700, (v: string) => Number(v));
  pgTypesConfigured = true;
}

export function knexConfig(db: DatabaseConfig, poolMax = 4): Knex.Config {
  switch (db.dialect) {
    case 'sqlite':
      return {
        client: 'better-sqlite3',
        connection: { filename: db.filename! },
        useNullAsDefault: true,
        pool: {
          min: 1,
          max: 1,
          afterCreate(conn: any, done: (err: Error | null, conn: unknown) => void) {
            try {
              conn.pragma('journal_mode = WAL');
              conn.pragma('foreign_keys = ON');
              conn.pragma('busy_timeout = 10000');
              conn.pragma('synchronous = NORMAL');
              done(null, conn);
            } catch (err) {
              done(err as Error, conn);
            }
          },
        },
      };
    case 'postgres':
      return {
        client: 'pg',
        connection: {
          host: db.host,
          port: db.port,
          user: db.user,
          password: db.password,
          database: db.database,
          ssl: driverTlsOptions(db.tls),
          connectionTimeoutMillis: 10_000,
          application_name: 'ontime',
        } as Knex.PgConnectionConfig,
        pool: {
          min: 0,
          max: poolMax,
          afterCreate(conn: any, done: (err: Error | null, conn: unknown) => void) {
            conn.query("SET TIME ZONE 'UTC'", (err: Error | null) => done(err, conn));
          },
        },
        acquireConnectionTimeout: 15_000,
      };
    case 'mysql':
      return {
        client: 'mysql2',
        connection: {
          host: db.host,
          port: db.port,
          user: db.user,
          password: db.password,
          database: db.database,
          timezone: 'Z',
          dateStrings: ['DATE'],
          connectTimeout: 10_000,
          charset: 'utf8mb4',
          ssl: driverTlsOptions(db.tls),
        } as unknown as Knex.MySql2ConnectionConfig,
        pool: {
          min: 0,
          max: poolMax,
          afterCreate(conn: any, done: (err: Error | null, conn: unknown) => void) {
            conn.query(
              "SET SESSION time_zone = '+00:00', SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
              (err: Error | null) => done(err, conn),
            );
          },
        },
        acquireConnectionTimeout: 15_000,
      };
  }
}

/**
 * knex prefixes a failed query's error with its SQL text; the operator needs the database's own
 * reason. The statement (placeholders only, never values) stays on the error for --verbose.
 */
function keepDatabaseMessage(err: unknown, query: { sql?: string }): void {
  if (!(err instanceof Error) || typeof query?.sql !== 'string') return;
  const prefix = `${query.sql} - `;
  if (err.message.startsWith(prefix)) {
    Object.defineProperty(err, 'statement', { value: query.sql, enumerable: false });
    err.message = err.message.slice(prefix.length);
  }
}

/** Connect and prove the connection works; unreachable → TemporaryError (75), refused → ConfigError (78). */
export async function connect(db: DatabaseConfig, options: { poolMax?: number; schema?: Schema } = {}): Promise<Knex> {
  if (db.dialect === 'postgres') await configurePgTypes();
  else await loadDriver(db.dialect);
  if (db.dialect === 'sqlite' && db.filename && db.filename !== ':memory:') {
    makePrivateDir(dirname(db.filename));
    // A new database holds personal data from its first row: 0600 before SQLite opens it (SQLite
    // gives its -wal and -shm files the database file's mode).
    createPrivateFileIfMissing(db.filename);
  }
  const { default: knexFactory } = await import('knex');
  // knex prints pool errors to the console itself; we report them once, classified and redacted.
  const quiet = () => undefined;
  const knex = knexFactory({
    ...knexConfig(db, options.poolMax),
    // knex would otherwise write the bound values (names, addresses, mail bodies) into the
    // error text, and from there into job_runs.error, logs and the alert mail.
    compileSqlOnError: false,
    log: { warn: quiet, error: quiet, deprecate: quiet, debug: quiet },
  });
  knex.on('query-error', keepDatabaseMessage);
  if (options.schema) bindSchema(knex, options.schema);
  try {
    await knex.raw('select 1');
  } catch (err) {
    await knex.destroy().catch(() => undefined);
    throw classifyDatabaseError(err, db.display) ?? unbuiltSqlite(err) ?? err;
  }
  return knex;
}
