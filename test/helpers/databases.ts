/**
 * The database matrix (knex's own pattern): one spec, run once per database named in
 * ONTIME_TEST_DBS (default `sqlite,postgres,mysql`). Every test file gets its own empty database
 * per dialect, so files cannot disturb each other. A server that does not answer is reported and
 * skipped locally; under CI=true it fails the run.
 */
import { randomBytes, createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Knex } from 'knex';
import { parseDatabaseUrl, type Dialect } from '../../src/config.js';
import { connect } from '../../src/db/connect.js';
import { migrationSource, MIGRATIONS_TABLE } from '../../src/db/migrations/index.js';

export type TestDbName = 'sqlite' | 'postgres' | 'mysql';

const ADMIN_URLS: Record<Exclude<TestDbName, 'sqlite'>, string> = {
  postgres: process.env.ONTIME_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  mysql: process.env.ONTIME_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
};

export const isCI = process.env.CI === 'true' || process.env.CI === '1';

export function requestedDatabases(): TestDbName[] {
  const names = (process.env.ONTIME_TEST_DBS ?? 'sqlite,postgres,mysql')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean)
    .map((s) => (s === 'mariadb' ? 'mysql' : s === 'pg' ? 'postgres' : s));
  for (const n of names) {
    if (n !== 'sqlite' && n !== 'postgres' && n !== 'mysql') throw new Error(`ONTIME_TEST_DBS: unknown database "${n}"`);
  }
  return names as TestDbName[];
}

/** Tables in an order that deletes children before parents. */
export const ALL_TABLES = [
  'audit_log',
  'email_outbox',
  'case_status_history',
  'survey_progress',
  'survey_deletion_warnings',
  'survey_legal_holds',
  'survey_responses',
  'surveys',
  'cases',
  'job_locks',
  'job_runs',
  'system_settings',
] as const;

/** ontime's own record of runs: a real run writes here even when it changes nothing else. */
export const RUN_TABLES = ['job_runs', 'job_locks'] as const;

export interface TestDatabase {
  name: TestDbName;
  dialect: Dialect;
  /** DATABASE_URL for this file's own database. */
  url: string;
  knex: Knex;
  migrate(): Promise<void>;
  /** Empty every table (keeps the schema). */
  reset(): Promise<void>;
  /**
   * A digest of every row of every table: equal digests = byte-for-byte equal data. `except`
   * leaves tables out, e.g. RUN_TABLES when a real run may record itself but must change nothing else.
   */
  checksum(options?: { except?: readonly string[] }): Promise<string>;
}

async function probe(name: TestDbName): Promise<string | null> {
  if (name === 'sqlite') return null;
  try {
    const k = await connect(parseDatabaseUrl(ADMIN_URLS[name]));
    await k.destroy();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

const availability = new Map<TestDbName, string | null>();
for (const name of requestedDatabases()) availability.set(name, await probe(name));

function uniqueName(): string {
  return `ontime_t_${process.pid}_${randomBytes(4).toString('hex')}`;
}

async function createDatabase(name: TestDbName): Promise<TestDatabase & { drop(): Promise<void> }> {
  let url: string;
  let drop: () => Promise<void>;
  if (name === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'ontime-test-'));
    url = `sqlite:///${join(dir, 'test.sqlite3').replace(/^\//, '')}`;
    drop = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const dbName = uniqueName();
    const admin = await connect(parseDatabaseUrl(ADMIN_URLS[name]));
    if (name === 'postgres') await admin.raw(`CREATE DATABASE "${dbName}"`);
    else await admin.raw(`CREATE DATABASE \`${dbName}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await admin.destroy();
    const u = new URL(ADMIN_URLS[name]);
    u.pathname = `/${dbName}`;
    url = u.toString();
    drop = async () => {
      const a = await connect(parseDatabaseUrl(ADMIN_URLS[name]));
      try {
        if (name === 'postgres') await a.raw(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
        else await a.raw(`DROP DATABASE IF EXISTS \`${dbName}\``);
      } finally {
        await a.destroy();
      }
    };
  }
  const config = parseDatabaseUrl(url);
  const knex = await connect(config, { poolMax: 6 });
  const db: TestDatabase & { drop(): Promise<void> } = {
    name,
    dialect: config.dialect,
    url,
    knex,
    async migrate() {
      await knex.migrate.latest({ migrationSource, tableName: MIGRATIONS_TABLE });
    },
    async reset() {
      for (const table of ALL_TABLES) {
        if (await knex.schema.hasTable(table)) await knex(table).del();
      }
    },
    async checksum(options = {}) {
      const hash = createHash('sha256');
      for (const table of ALL_TABLES) {
        if (options.except?.includes(table)) continue;
        if (!(await knex.schema.hasTable(table))) continue;
        const key = table === 'system_settings' ? 'key' : table === 'job_locks' ? 'name' : 'id';
        const rows = await knex(table).select('*').orderBy(key);
        hash.update(table + ':' + JSON.stringify(rows) + '\n');
      }
      return hash.digest('hex');
    },
    async drop() {
      await knex.destroy().catch(() => undefined);
      await drop();
    },
  };
  return db;
}

export interface MatrixOptions {
  /** Run migrations once before the file's tests (default true). */
  migrate?: boolean;
}

/**
 * Declare a suite once per requested database. `body` receives a getter, valid inside tests and
 * hooks, for this file's own database on that dialect.
 */
export function forEachDatabase(
  title: string,
  body: (db: () => TestDatabase) => void,
  options: MatrixOptions = {},
): void {
  for (const name of requestedDatabases()) {
    const problem = availability.get(name) ?? null;
    if (problem && isCI) {
      describe(`${title} [${name}]`, () => {
        test(`${name} is required under CI=true`, () => {
          throw new Error(`${name} did not answer: ${problem}`);
        });
      });
      continue;
    }
    describe(`${title} [${name}]`, { skip: problem ? `${name} not reachable: ${problem}` : false }, () => {
      let current: (TestDatabase & { drop(): Promise<void> }) | undefined;
      before(async () => {
        current = await createDatabase(name);
        if (options.migrate !== false) await current.migrate();
      });
      after(async () => {
        await current?.drop();
      });
      body(() => {
        if (!current) throw new Error('test database not ready');
        return current;
      });
    });
  }
}
