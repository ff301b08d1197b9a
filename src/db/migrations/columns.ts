/** Column helpers so every migration writes the storage forms of docs/reference/schema.md on every dialect. */
import type { Knex } from 'knex';

export type Builder = Knex.CreateTableBuilder;

/** An instant: timestamptz on PostgreSQL, datetime(6) on MySQL, text-compatible datetime on SQLite. */
export function instant(knex: Knex, table: Builder, name: string): Knex.ColumnBuilder {
  const client = knex.client.config.client as string;
  if (client === 'pg') return table.timestamp(name, { useTz: true, precision: 6 });
  if (client === 'mysql2') return table.datetime(name, { precision: 6 });
  return table.datetime(name);
}

/** A foreign key to a bigIncrements id (unsigned on MySQL so the types match). */
export function reference(table: Builder, name: string): Knex.ColumnBuilder {
  return table.bigInteger(name).unsigned();
}

export function isMysql(knex: Knex): boolean {
  return knex.client.config.client === 'mysql2';
}
