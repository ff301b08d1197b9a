/** The few SQL fragments that differ per dialect. Column names passed in are trusted identifiers. */
import type { Dialect } from '../config.js';

/** `date + n days` for a date column and an integer column, as a date each dialect compares with 'YYYY-MM-DD'. */
export function addDaysSql(dialect: Dialect, dateColumn: string, daysColumn: string): string {
  switch (dialect) {
    case 'postgres':
      return `(${dateColumn} + ${daysColumn})`;
    case 'mysql':
      return `DATE_ADD(${dateColumn}, INTERVAL ${daysColumn} DAY)`;
    case 'sqlite':
      return `date(${dateColumn}, '+' || ${daysColumn} || ' days')`;
  }
}
