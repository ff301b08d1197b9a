/**
 * A dedicated, disposable benchmark database per dialect: created fresh (and migrated with the
 * project's own migrations) before each phase, dropped at the end. SQLite lives in a temp file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { parseDatabaseUrl, type Dialect } from '../../src/config.js';
import { connect } from '../../src/db/connect.js';
import { migrationSource, MIGRATIONS_TABLE } from '../../src/db/migrations/index.js';

export type BenchDbName = 'sqlite' | 'postgres' | 'mysql';

// ONTIME_BENCH_DATABASE lets two benchmark runs share a server without dropping each other's database.
export const BENCH_DATABASE = process.env.ONTIME_BENCH_DATABASE ?? 'ontime_bench';

const ADMIN_URLS: Record<Exclude<BenchDbName, 'sqlite'>, string> = {
  postgres: process.env.ONTIME_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  mysql: process.env.ONTIME_BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
};

export interface BenchDatabase {
  name: BenchDbName;
  dialect: Dialect;
  /** DATABASE_URL for the ontime processes. */
  url: string;
  /** The benchmark's own connection (one connection, so session settings stick). */
  knex: Knex;
  /** Server version, for the record. */
  version: string;
}

/** Null when the server answers; otherwise why it is not available. */
export async function probe(name: BenchDbName): Promise<string | null> {
  if (name === 'sqlite') return null;
  try {
    const k = await connect(parseDatabaseUrl(ADMIN_URLS[name]));
    await k.destroy();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

export class BenchDatabases {
  private sqliteDir?: string;

  constructor(readonly name: BenchDbName) {}

  /** Drop whatever is left, create an empty database, migrate it, and connect to it. */
  async fresh(): Promise<BenchDatabase> {
    let url: string;
    if (this.name === 'sqlite') {
      if (this.sqliteDir) rmSync(this.sqliteDir, { recursive: true, force: true });
      this.sqliteDir = mkdtempSync(join(tmpdir(), 'ontime-bench-'));
      url = `sqlite:///${join(this.sqliteDir, 'bench.sqlite3').replace(/^\//, '')}`;
    } else {
      await this.dropServerDatabase();
      await this.admin(async (a) => {
        if (this.name === 'postgres') await a.raw(`CREATE DATABASE "${BENCH_DATABASE}"`);
        else await a.raw(`CREATE DATABASE \`${BENCH_DATABASE}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      });
      const u = new URL(ADMIN_URLS[this.name]);
      u.pathname = `/${BENCH_DATABASE}`;
      url = u.toString();
    }
    const config = parseDatabaseUrl(url);
    const knex = await connect(config, { poolMax: 1 });
    await knex.migrate.latest({ migrationSource, tableName: MIGRATIONS_TABLE });
    const version = await serverVersion(knex, config.dialect);
    return { name: this.name, dialect: config.dialect, url, knex, version };
  }

  /** Remove the benchmark database (or temp file) entirely. */
  async drop(db?: BenchDatabase): Promise<void> {
    await db?.knex.destroy().catch(() => undefined);
    if (this.name === 'sqlite') {
      if (this.sqliteDir) rmSync(this.sqliteDir, { recursive: true, force: true });
      this.sqliteDir = undefined;
    } else {
      await this.dropServerDatabase();
    }
  }

  private async dropServerDatabase(): Promise<void> {
    await this.admin(async (a) => {
      if (this.name === 'postgres') await a.raw(`DROP DATABASE IF EXISTS "${BENCH_DATABASE}" WITH (FORCE)`);
      else await a.raw(`DROP DATABASE IF EXISTS \`${BENCH_DATABASE}\``);
    });
  }

  private async admin(body: (k: Knex) => Promise<void>): Promise<void> {
    const a = await connect(parseDatabaseUrl(ADMIN_URLS[this.name as Exclude<BenchDbName, 'sqlite'>]));
    try {
      await body(a);
    } finally {
      await a.destroy();
    }
  }
}

async function serverVersion(knex: Knex, dialect: Dialect): Promise<string> {
  switch (dialect) {
    case 'postgres': {
      const r = await knex.raw('SHOW server_version');
      return `PostgreSQL ${r.rows[0].server_version}`;
    }
    case 'mysql': {
      const [rows] = await knex.raw('SELECT VERSION() AS v');
      const v = String(rows[0].v);
      return /mariadb/i.test(v) ? `MariaDB ${v}` : `MySQL ${v}`;
    }
    case 'sqlite': {
      const rows = await knex.raw('SELECT sqlite_version() AS v');
      return `SQLite ${rows[0].v}`;
    }
  }
}

/** Set-based loads go faster without per-row checks the generated data cannot violate. */
export async function loadSession(db: BenchDatabase, on: boolean): Promise<void> {
  if (db.dialect === 'mysql') {
    await db.knex.raw(`SET SESSION unique_checks = ${on ? 0 : 1}, foreign_key_checks = ${on ? 0 : 1}`);
  } else if (db.dialect === 'postgres') {
    await db.knex.raw(`SET synchronous_commit = ${on ? 'off' : 'on'}`);
  }
}

/** Fresh statistics (and, on PostgreSQL, set hint bits) so both contenders start alike. */
export async function analyze(db: BenchDatabase, tables: string[]): Promise<void> {
  switch (db.dialect) {
    case 'postgres':
      for (const t of tables) await db.knex.raw(`VACUUM ANALYZE "${t}"`);
      break;
    case 'mysql':
      await db.knex.raw(`ANALYZE TABLE ${tables.map((t) => `\`${t}\``).join(', ')}`);
      break;
    case 'sqlite':
      await db.knex.raw('ANALYZE');
      break;
  }
}
