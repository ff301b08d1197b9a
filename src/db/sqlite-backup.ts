/**
 * SQLite copies through SQLite's online backup API (better-sqlite3's `backup()`): a consistent
 * snapshot even while other processes write, because the whole database is copied in one step
 * under one read transaction (in WAL mode that blocks no writer, and a write by another process
 * cannot restart a copy that is already done).
 */
import type { Knex } from 'knex';

type SqliteConnection = {
  backup(file: string, options?: { progress?(p: { totalPages: number; remainingPages: number }): number }): Promise<{ totalPages: number }>;
};
type SqliteDatabase = SqliteConnection & {
  pragma(sql: string, options?: { simple?: boolean }): unknown;
  close(): void;
};

/** All remaining pages in the next step: the copy is one snapshot, never restarted. */
const ALL_PAGES = 0x7fffffff;

/** Copy the database behind `db` (the run's own connection) into `file`. Returns the page count. */
export async function backupSqlite(db: Knex, file: string): Promise<number> {
  const client = db.client as { acquireConnection(): Promise<SqliteConnection>; releaseConnection(c: SqliteConnection): Promise<void> };
  const connection = await client.acquireConnection();
  try {
    const result = await connection.backup(file, { progress: () => ALL_PAGES });
    return result.totalPages;
  } finally {
    await client.releaseConnection(connection);
  }
}

async function open(file: string, options: { readonly?: boolean; fileMustExist?: boolean } = {}): Promise<SqliteDatabase> {
  // @ts-expect-error better-sqlite3 ships no type declarations; the shape used is declared above.
  const { default: Database } = (await import('better-sqlite3')) as { default: new (f: string, o?: object) => SqliteDatabase };
  return new Database(file, { fileMustExist: true, ...options });
}

/**
 * Make a fresh copy self-contained and check it: rollback journal (so it opens without -wal/-shm
 * files beside it, also read-only), then `PRAGMA integrity_check`. Returns the check's answer
 * ("ok" when sound).
 */
export async function finishAndCheckCopy(file: string): Promise<string> {
  const copy = await open(file);
  try {
    copy.pragma('journal_mode = DELETE');
    return String(copy.pragma('integrity_check', { simple: true }));
  } finally {
    copy.close();
  }
}

/** `PRAGMA integrity_check` of a file opened read-only; an unreadable file answers with its error. */
export async function checkSqliteFile(file: string): Promise<string> {
  let copy: SqliteDatabase | undefined;
  try {
    copy = await open(file, { readonly: true });
    return String(copy.pragma('integrity_check', { simple: true }));
  } catch (err) {
    return (err as Error).message;
  } finally {
    copy?.close();
  }
}

/** Overwrite the database file `target` with the contents of `source`, through the backup API. */
export async function restoreSqlite(source: string, target: string): Promise<void> {
  const from = await open(source, { readonly: true });
  try {
    await from.backup(target, { progress: () => ALL_PAGES });
  } finally {
    from.close();
  }
}
