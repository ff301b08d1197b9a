/**
 * SQLite keeps instants and days as text, and the jobs compare them as text: that is only
 * chronological while every value has the one spelling of src/db/time.ts (Django's
 * `YYYY-MM-DD HH:MM:SS[.ffffff]`, days `YYYY-MM-DD`). Another program writing `…T12:00:00Z` or
 * `….000` makes a boundary row compare wrongly. This module finds such values in the columns
 * the jobs compare and rewrites them, in batches, to the canonical spelling of the same instant.
 * Values it cannot read are reported and never changed.
 */
import type { Knex } from 'knex';
import { tableFor } from './schema.js';

export type ColumnKind = 'instant' | 'day';

/** The timestamp and date columns the jobs compare, per table. */
export const COMPARED_COLUMNS: ReadonlyArray<{ table: string; column: string; kind: ColumnKind }> = [
  { table: 'cases', column: 'scheduled_release_date', kind: 'day' },
  { table: 'cases', column: 'scheduled_email_date', kind: 'day' },
  { table: 'cases', column: 'hold_start_date', kind: 'day' },
  { table: 'cases', column: 'hold_end_date', kind: 'day' },
  { table: 'cases', column: 'actual_release_date', kind: 'instant' },
  { table: 'cases', column: 'actual_email_sent_date', kind: 'instant' },
  { table: 'surveys', column: 'closed_at', kind: 'instant' },
  { table: 'surveys', column: 'deletion_date', kind: 'instant' },
  { table: 'surveys', column: 'deleted_at', kind: 'instant' },
  { table: 'survey_progress', column: 'updated_at', kind: 'instant' },
  { table: 'survey_progress', column: 'expires_at', kind: 'instant' },
  { table: 'survey_legal_holds', column: 'placed_at', kind: 'instant' },
  { table: 'survey_legal_holds', column: 'removed_at', kind: 'instant' },
  { table: 'survey_deletion_warnings', column: 'deletion_date', kind: 'instant' },
  { table: 'survey_deletion_warnings', column: 'sent_at', kind: 'instant' },
];

const D = '[0-9]';
const DAY_GLOB = `${D}${D}${D}${D}-${D}${D}-${D}${D}`;
const SECOND_GLOB = `${DAY_GLOB} ${D}${D}:${D}${D}:${D}${D}`;

/** SQL true for a value NOT in the canonical spelling (column names are ours, from the list above). */
function offCanonicalSql(column: string, kind: ColumnKind): string {
  const c = `"${column}"`;
  const canonical =
    kind === 'day'
      ? `${c} GLOB '${DAY_GLOB}'`
      : `(${c} GLOB '${SECOND_GLOB}' OR (${c} GLOB '${SECOND_GLOB}.${D.repeat(6)}' AND substr(${c}, 20) <> '.000000'))`;
  return `${c} IS NOT NULL AND NOT (typeof(${c}) = 'text' AND ${canonical})`;
}

export interface OffCanonicalColumn {
  table: string;
  column: string;
  kind: ColumnKind;
  count: number;
  example: string;
}

/** Columns holding values in another spelling, with how many and one example. SQLite only. */
export async function scanTimestampForms(db: Knex): Promise<OffCanonicalColumn[]> {
  const found: OffCanonicalColumn[] = [];
  for (const { table: ontimeName, column, kind } of COMPARED_COLUMNS) {
    const table = tableFor(db, ontimeName);
    if (!table || !(await db.schema.hasTable(table))) continue;
    const row = await db(table)
      .whereRaw(offCanonicalSql(column, kind))
      .select(db.raw('count(*) AS n'), db.raw(`min(CAST("${column}" AS TEXT)) AS example`))
      .first();
    const count = Number(row?.n ?? 0);
    if (count > 0) found.push({ table, column, kind, count, example: String(row.example) });
  }
  return found;
}

const INSTANT = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?(?:\.(\d+))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * The canonical spelling of a stored value, or null when it cannot be read with certainty
 * (not text, not an ISO-8601 form, or not a real calendar instant). Microseconds are kept.
 */
export function canonicalForm(value: unknown, kind: ColumnKind): string | null {
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (kind === 'day') {
    const m = /^(\d{4}-\d{2}-\d{2})(?:[ T].*)?$/.exec(text);
    if (!m || !validDay(m[1]!)) return null;
    return m[1]!;
  }
  const m = INSTANT.exec(text);
  if (!m || !validDay(m[1]!)) return null;
  const [, day, hh, mm, ss = '00', fraction = '', zoneText] = m;
  if (Number(hh) > 23 || Number(mm) > 59 || Number(ss) > 59) return null;
  let zone = zoneText ?? 'Z';
  if (/^[+-]\d{2}$/.test(zone)) zone += ':00';
  else if (/^[+-]\d{4}$/.test(zone)) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
  // Whole seconds through Date (zones are whole minutes), the fraction carried over as digits.
  const d = new Date(`${day}T${hh}:${mm}:${ss}${zone.toUpperCase()}`);
  if (Number.isNaN(d.getTime())) return null;
  const iso = d.toISOString();
  const micro = fraction.slice(0, 6).padEnd(6, '0');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${micro === '000000' ? '' : `.${micro}`}`;
}

function validDay(day: string): boolean {
  const d = new Date(`${day}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === day;
}

export interface FixResult {
  table: string;
  column: string;
  rewritten: number;
  unreadable: Array<{ id: number; value: string }>;
}

/** Rewrite every readable off-canonical value, `batchSize` rows per transaction. SQLite only. */
export async function fixTimestampForms(db: Knex, batchSize = 500): Promise<FixResult[]> {
  const results: FixResult[] = [];
  for (const { table: ontimeName, column, kind } of COMPARED_COLUMNS) {
    const table = tableFor(db, ontimeName);
    if (!table || !(await db.schema.hasTable(table))) continue;
    const result: FixResult = { table, column, rewritten: 0, unreadable: [] };
    let afterId = 0;
    for (;;) {
      const rows: Array<{ id: number; value: unknown }> = await db(table)
        .whereRaw(offCanonicalSql(column, kind))
        .where('id', '>', afterId)
        .orderBy('id')
        .limit(batchSize)
        .select('id', { value: column });
      if (rows.length === 0) break;
      await db.transaction(async (trx) => {
        for (const row of rows) {
          const canonical = canonicalForm(row.value, kind);
          if (canonical === null) result.unreadable.push({ id: Number(row.id), value: String(row.value) });
          else {
            // Only if unchanged since it was read: a value another program rewrote meanwhile is left to it.
            result.rewritten += await trx(table).where({ id: row.id, [column]: row.value as string }).update({ [column]: canonical });
          }
        }
      });
      afterId = Number(rows[rows.length - 1]!.id);
      // A turn of the event loop between batches (better-sqlite3 is synchronous).
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (result.rewritten > 0 || result.unreadable.length > 0) results.push(result);
  }
  return results;
}
