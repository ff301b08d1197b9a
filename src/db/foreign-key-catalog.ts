/**
 * The foreign keys of the connected schema, read from the database's own catalog: pg_constraint
 * on PostgreSQL (current schema), information_schema on MySQL/MariaDB (current database), and
 * `pragma_foreign_key_list` on SQLite (main). No table is named here: whatever the application
 * created is what the delete plan (db/foreign-keys.ts) is built from.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { rawRows, toBool } from './dialect.js';

/** One column of one foreign key: `table.column` references `refTable.refColumn`. */
export interface ForeignKeyColumn {
  constraint: string;
  table: string;
  column: string;
  refTable: string;
  refColumn: string;
  /** The referencing column accepts NULL (so the edge can be set to null instead of deleted). */
  nullable: boolean;
  /** Columns in the constraint: more than 1 is a composite key. */
  width: number;
}

interface CatalogRow {
  constraint_name: unknown;
  table_name: unknown;
  column_name: unknown;
  ref_table: unknown;
  ref_column: unknown;
  nullable: unknown;
  width: unknown;
}

const PG_SQL = `
SELECT c.conname AS constraint_name, cl.relname AS table_name, a.attname AS column_name,
       rcl.relname AS ref_table, ra.attname AS ref_column, NOT a.attnotnull AS nullable,
       cardinality(c.conkey) AS width
FROM pg_constraint c
JOIN pg_class cl ON cl.oid = c.conrelid
JOIN pg_namespace ns ON ns.oid = cl.relnamespace
JOIN pg_class rcl ON rcl.oid = c.confrelid
CROSS JOIN LATERAL unnest(c.conkey, c.confkey) AS k(attnum, refattnum)
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = k.refattnum
WHERE c.contype = 'f' AND ns.nspname = current_schema()`;

const MYSQL_SQL = `
SELECT k.CONSTRAINT_NAME AS constraint_name, k.TABLE_NAME AS table_name, k.COLUMN_NAME AS column_name,
       k.REFERENCED_TABLE_NAME AS ref_table, k.REFERENCED_COLUMN_NAME AS ref_column,
       CASE WHEN col.IS_NULLABLE = 'YES' THEN 1 ELSE 0 END AS nullable,
       (SELECT COUNT(*) FROM information_schema.KEY_COLUMN_USAGE k2
         WHERE k2.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND k2.TABLE_NAME = k.TABLE_NAME
           AND k2.CONSTRAINT_NAME = k.CONSTRAINT_NAME) AS width
FROM information_schema.KEY_COLUMN_USAGE k
JOIN information_schema.REFERENTIAL_CONSTRAINTS r
  ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
JOIN information_schema.COLUMNS col
  ON col.TABLE_SCHEMA = k.TABLE_SCHEMA AND col.TABLE_NAME = k.TABLE_NAME AND col.COLUMN_NAME = k.COLUMN_NAME
WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL`;

// SQLite names a foreign key only by its position (id) in its table; a NULL "to" means the
// referenced table's primary key, resolved with pragma_table_info of that table.
const SQLITE_SQL = `
SELECT m.name || '#' || f.id AS constraint_name, m.name AS table_name, f."from" AS column_name,
       f."table" AS ref_table,
       COALESCE(f."to", (SELECT p.name FROM pragma_table_info(f."table") p WHERE p.pk = 1)) AS ref_column,
       CASE WHEN ti."notnull" = 0 AND ti.pk = 0 THEN 1 ELSE 0 END AS nullable,
       (SELECT COUNT(*) FROM pragma_foreign_key_list(m.name) f2 WHERE f2.id = f.id) AS width
FROM sqlite_master m
JOIN pragma_foreign_key_list(m.name) f
JOIN pragma_table_info(m.name) ti ON ti.name = f."from"
WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'`;

const SQL: Record<Dialect, string> = { postgres: PG_SQL, mysql: MYSQL_SQL, sqlite: SQLITE_SQL };

/** Every foreign-key column of the schema, sorted (table, constraint, column) so plans are stable. */
export async function readForeignKeys(db: Knex, dialect: Dialect): Promise<ForeignKeyColumn[]> {
  const rows = rawRows<CatalogRow>(await db.raw(SQL[dialect]));
  return rows
    .map((r) => ({
      constraint: String(r.constraint_name),
      table: String(r.table_name),
      column: String(r.column_name),
      refTable: String(r.ref_table),
      refColumn: String(r.ref_column),
      nullable: toBool(r.nullable),
      width: Number(r.width),
    }))
    .sort((a, b) => a.table.localeCompare(b.table) || a.constraint.localeCompare(b.constraint) || a.column.localeCompare(b.column));
}
