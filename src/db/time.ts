/**
 * Instants and calendar days to and from each dialect's storage form (docs/reference/schema.md):
 * PostgreSQL timestamptz/date, MySQL datetime(6) holding UTC/date, SQLite text
 * `YYYY-MM-DD HH:MM:SS[.ffffff]` (Django's form) and `YYYY-MM-DD`.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';

/** `YYYY-MM-DD` of an instant's UTC calendar day. */
export function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** A calendar day plus n days (n may be negative), in the proleptic Gregorian calendar. */
export function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return utcDay(d);
}

export const DAY_MS = 86_400_000;

/**
 * SQLite text in the form Django writes: fraction only when there is one, always six digits.
 * Keeping exactly one spelling per instant is what makes text comparison in SQL chronological:
 * `10:00:00` and `10:00:00.000000` would compare unequal.
 */
export function sqliteInstant(d: Date): string {
  const iso = d.toISOString(); // 2026-11-22T10:00:00.123Z
  const base = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  const ms = d.getUTCMilliseconds();
  return ms === 0 ? base : `${base}.${String(ms).padStart(3, '0')}000`;
}

/** The value to bind for an instant column or comparison on this dialect. */
export function toDbInstant(dialect: Dialect, d: Date): Date | string {
  if (Number.isNaN(d.getTime())) throw new RangeError('invalid instant');
  return dialect === 'sqlite' ? sqliteInstant(d) : d;
}

/** Any stored form of an instant → Date. Text without a zone is UTC. */
export function fromDbInstant(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value;
  if (typeof value === 'number') return new Date(value);
  const text = String(value).trim();
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2})?)(\.\d+)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(text);
  if (m) {
    const fraction = m[3] ? m[3].slice(0, 4).padEnd(4, '0') : '';
    let zone = m[4] ?? 'Z';
    if (/^[+-]\d{2}$/.test(zone)) zone += ':00';
    return new Date(`${m[1]}T${m[2]!.length === 5 ? m[2] + ':00' : m[2]}${fraction}${zone}`);
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return new Date(`${text}T00:00:00Z`);
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) throw new RangeError(`unreadable instant "${text}"`);
  return d;
}

/** Any stored form of a calendar day → `YYYY-MM-DD`. */
export function fromDbDay(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return utcDay(value);
  return String(value).slice(0, 10);
}

/** Accept a Date or a day string from callers and write `YYYY-MM-DD`. */
export function toDbDay(value: Date | string): string {
  if (value instanceof Date) return utcDay(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) throw new RangeError(`not a calendar day: "${value}"`);
  return value.slice(0, 10);
}

/**
 * A `CASE id WHEN … THEN … END` expression giving each row its own instant, so one UPDATE can
 * write a different accepted-at time to every row of a group. PostgreSQL needs the parameters cast
 * (a CASE of text parameters is text, not timestamptz); MySQL and SQLite convert on assignment.
 */
export function instantPerId(db: Knex | Knex.Transaction, dialect: Dialect, items: { id: number; at: Date }[]): Knex.Raw {
  const cast = dialect === 'postgres' ? '?::timestamptz' : '?';
  const sql = `CASE id ${items.map(() => `WHEN ? THEN ${cast}`).join(' ')} END`;
  return db.raw(
    sql,
    items.flatMap((i) => [i.id, toDbInstant(dialect, i.at)]),
  );
}
