/** Recognising a unique-key conflict on every dialect (the drivers spell it differently). */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; errno?: number; message?: string } | null;
  return (
    e?.code === '23505' || // PostgreSQL unique_violation
    e?.code === 'ER_DUP_ENTRY' ||
    e?.errno === 1062 ||
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    (e?.code === 'SQLITE_CONSTRAINT' && /UNIQUE|PRIMARY/i.test(e.message ?? ''))
  );
}

/** Rows of a knex.raw() result, whatever the driver returns. */
export function rawRows<T>(result: unknown): T[] {
  if (Array.isArray(result)) {
    // mysql2: [rows, fields]; better-sqlite3: rows
    return (Array.isArray(result[0]) ? result[0] : result) as T[];
  }
  const r = result as { rows?: T[] };
  return r.rows ?? [];
}
