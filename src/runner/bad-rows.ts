/**
 * Bad rows in a run's result. Rows a job's comparisons skip because a value cannot be read as what
 * it means (see db/readable.ts) are counted and listed as `unreadable` (table, column, id); rows
 * the database refused alone (in a batch or a mail step) are listed as `failedRows` and make the run partial. Bad
 * data is visible without ever being acted on, and without stopping the rest.
 */
import type { JobDefinition } from '../registry.js';
import type { JobHandler } from './types.js';

/** Listed in the summary and with --verbose; more are counted. */
const LISTED = 100;
const SHOWN_WITHOUT_VERBOSE = 10;

export function reportingBadRows(def: JobDefinition, handler: JobHandler<any>): JobHandler<any> {
  const reads = def.reads ?? [];
  return async (ctx, options) => {
    let result = await handler(ctx, options);
    if (ctx.failedRows?.length > 0) {
      // Rows refused alone: the rest was done, so the run is partial (exit 1), with the rows named.
      // A job that names its own exit code (0 for "all done") is partial too; a harder one (69, 78) stays.
      const exitCode = result.exitCode === 0 ? 1 : result.exitCode;
      result = { ...result, exitCode, failed: (result.failed ?? 0) + ctx.failedRows.length, summary: { ...result.summary, failedRows: ctx.failedRows } };
    }
    if (reads.length === 0) return result;
    const { findUnreadable } = await import('../db/readable.js');
    const found = await findUnreadable(ctx.db, ctx.config.database.dialect, reads, LISTED);
    if (found.count === 0) return result;
    const shown = ctx.verbose ? found.rows : found.rows.slice(0, SHOWN_WITHOUT_VERBOSE);
    ctx.out.line(`Unreadable values, rows left unchanged: ${found.count}`);
    for (const r of shown) ctx.out.line(`  ${r.table}.${r.column} of id ${r.id}: unreadable`);
    if (found.count > shown.length) ctx.out.line(`  (${found.count - shown.length} more; --verbose lists up to ${LISTED})`);
    return { ...result, summary: { ...result.summary, unreadable: { count: found.count, rows: found.rows } } };
  };
}
