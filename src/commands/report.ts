/**
 * `ontime report governance [--from <day>] [--to <day>] [--format text|csv|json|html] [--out FILE]`:
 * the evidence a data-protection officer is asked for, from audit_log alone: per day the deletion
 * warnings sent by threshold, surveys soft- and hard-deleted (ids, rows deleted), legal-hold skips,
 * and totals. Days are calendar days in ONTIME_TIMEZONE; --to is included. Writes nothing to the
 * database; --out writes the file atomically.
 */
import { hostname } from 'node:os';
import { UsageError } from '../errors.js';
import { addDays, DAY_MS } from '../db/time.js';
import { assertMigrated, withSession, type Invocation } from '../runner/session.js';

export interface ReportOptions {
  args: string[];
  from?: string;
  to?: string;
  format?: string;
  out?: string;
  verbose?: boolean;
}

const FORMATS = ['text', 'csv', 'json', 'html'] as const;
/** Without --from, the report covers this many days up to --to. */
const DEFAULT_DAYS = 30;
/** A longer range is refused: one row per day, and a year is what an audit asks for. */
const MAX_DAYS = 3660;

export default async function report(options: ReportOptions, inv: Invocation): Promise<number> {
  return withSession(inv, { verbose: options.verbose }, async (session) => {
    const kind = options.args[0];
    if (kind !== 'governance') throw new UsageError(`there is no report named "${kind}"`, 'reports: governance');
    const format = (options.format ?? 'text') as (typeof FORMATS)[number];
    if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, not "${options.format}"`);
    const tz = session.config.timezone;
    const { dayIn } = await import('../reports/zone-days.js');
    const to = options.to ?? dayIn(new Date(), tz);
    const from = options.from ?? addDays(to, -(DEFAULT_DAYS - 1));
    if (from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
    if ((Date.parse(to) - Date.parse(from)) / DAY_MS + 1 > MAX_DAYS) throw new UsageError(`the range is longer than ${MAX_DAYS} days; split it`);

    const db = await session.db();
    await assertMigrated(db);
    const [{ governanceReport }, render] = await Promise.all([import('../reports/governance.js'), import('../reports/governance-render.js')]);
    const model = await governanceReport(db, session.config.database.dialect, from, to, tz);
    const text =
      format === 'csv'
        ? render.renderGovernanceCsv(model)
        : format === 'json'
          ? render.renderGovernanceJson(model)
          : format === 'html'
            ? render.renderGovernanceHtml(model, new Date(), hostname())
            : render.renderGovernanceText(model);
    if (options.out) {
      const { writeFileAtomically } = await import('../status/write-file.js');
      writeFileAtomically(options.out, text);
      session.out.notice(`Wrote the governance report ${from} to ${to} (${format}) to ${options.out}`);
    } else {
      inv.streams.stdout.write(text);
    }
    return 0;
  });
}
