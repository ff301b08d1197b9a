/**
 * SurgiCase's `cases` table (scadreau/surgicase, FastAPI over MySQL, schema hand-written, not
 * generated), from the columns its endpoints insert, select and update:
 * - `case_id` is a varchar primary key chosen by the client; `user_id` a varchar owner id;
 * - `case_status` an int (10 submitted, 15 pending payment, 20 paid to provider, … 500 closed);
 *   only `active = 1` rows are live (deleted cases are moved away or deactivated);
 * - one timestamp column per target status (utils/status_timestamps.py maps 7, 8, 10, 15, 20, 30,
 *   40, 50, 60, 70, 80, 400, 500 to `billable_flag_ts` … `closed_ts`), set to CURRENT_TIMESTAMP by
 *   the statement that moves a case there. There is no status history table.
 * Its bulk update refuses a backward move per case (moving the others in the same request) unless
 * forced, and reports a case already at the target as an exception too.
 *
 * The table is named `cases`, exactly like ontime's own migration's table: under the `surgicase`
 * profile ontime must create only its prefixed tables. MariaDB first; SQLite renders the same DDL.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../../src/config.js';
import { instant } from './fixtures.js';
import { createTables, type Column, type TableSpec } from './django-ddl.js';

/** Status → the column SurgiCase stamps when a case moves to that status. */
export const SURGICASE_STATUS_TIMESTAMPS: Readonly<Record<number, string>> = {
  7: 'billable_flag_ts',
  8: 'docs_needed_ts',
  10: 'submitted_ts',
  15: 'pending_payment_ts',
  20: 'paid_to_provider_ts',
  30: 'sent_to_biller_ts',
  40: 'received_pmnt_ts',
  50: 'sent_to_negotiation_ts',
  60: 'settled_ts',
  70: 'sent_to_idr_ts',
  80: 'idr_decision_ts',
  400: 'rejected_ts',
  500: 'closed_ts',
};

const raw = (name: string, sql: string, extra: Partial<Column> = {}): Column => ({ name, type: { kind: 'raw', sql }, ...extra });
const ts = (name: string): Column => raw(name, 'timestamp', { null: true });

export const SURGICASE_TABLES: readonly TableSpec[] = [
  {
    name: 'cases',
    columns: [
      raw('case_id', 'varchar(100)', { primary: true }),
      raw('user_id', 'varchar(100)'),
      raw('case_date', 'date', { null: true }),
      raw('patient_first', 'varchar(255)', { null: true }),
      raw('patient_last', 'varchar(255)', { null: true }),
      raw('ins_provider', 'varchar(255)', { null: true }),
      raw('surgeon_id', 'varchar(100)', { null: true }),
      raw('facility_id', 'varchar(100)', { null: true }),
      raw('case_status', 'int', { default: '0' }),
      raw('demo_file', 'varchar(255)', { null: true }),
      raw('note_file', 'varchar(255)', { null: true }),
      raw('misc_file', 'varchar(255)', { null: true }),
      raw('admin_file', 'varchar(255)', { null: true }),
      raw('pay_amount', 'decimal(10,2)', { null: true }),
      raw('pay_category', 'varchar(100)', { null: true }),
      raw('dupe_flag', 'tinyint(1)', { default: '0' }),
      raw('patient_dob', 'date', { null: true }),
      raw('phi_encrypted', 'tinyint', { null: true, default: '0' }),
      raw('active', 'tinyint(1)', { default: '1' }),
      raw('case_create_ts', 'timestamp', { null: true, default: 'CURRENT_TIMESTAMP' }),
      ts('case_updated_ts'),
      ...Object.values(SURGICASE_STATUS_TIMESTAMPS).map(ts),
    ],
  },
];

export async function createSurgiCaseSchema(knex: Knex, dialect: Dialect): Promise<void> {
  if (dialect === 'postgres') throw new Error('SurgiCase runs on MySQL; its fixture renders MySQL and SQLite only');
  await createTables(knex, dialect, SURGICASE_TABLES);
}

export interface SurgiCase {
  case_id: string;
  case_status: number;
  active?: boolean;
  user_id?: string;
  /** Status timestamps already set, e.g. `{ submitted_ts: new Date(...) }`. */
  stamps?: Record<string, Date>;
}

export async function insertSurgiCases(knex: Knex, dialect: Dialect, rows: SurgiCase[]): Promise<void> {
  for (const r of rows) {
    const stamps: Record<string, unknown> = {};
    for (const [column, at] of Object.entries(r.stamps ?? {})) stamps[column] = instant(dialect, at);
    await knex('cases').insert({
      case_id: r.case_id,
      user_id: r.user_id ?? 'user-1',
      case_date: '2026-01-10',
      patient_first: 'Pat',
      patient_last: 'Example',
      case_status: r.case_status,
      active: r.active === false ? 0 : 1,
      ...stamps,
    });
  }
}

/** case_id → { case_status, active, every status timestamp } for assertions. */
export async function readSurgiCases(knex: Knex): Promise<Map<string, Record<string, unknown>>> {
  const rows = (await knex('cases').select('*').orderBy('case_id')) as Record<string, unknown>[];
  return new Map(rows.map((r) => [String(r.case_id), r]));
}
