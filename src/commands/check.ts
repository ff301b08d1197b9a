/**
 * `ontime check [--now] [--json]`: a monitoring probe with Nagios exit codes. 0: every enabled
 * scheduled job's latest slot ran (or is within its grace period) and its most recent finished run
 * succeeded; 1: one is late, partial, interrupted or skipped 3 times in a row behind a live lock
 * holder; 2: one failed or never ran (missed), or is skipped behind a dead or stuck holder; 3:
 * ontime could not check at all.
 */
import { describeError } from '../errors.js';
import { checkReport, statusesOf } from '../dispatch/slot-status.js';
import { Output } from '../output.js';
import { jobs } from '../registry.js';
import { jobsWithSchedules } from '../db/job-settings.js';
import { assertMigrated, withSession, type Invocation } from '../runner/session.js';

export interface CheckOptions {
  now?: Date;
  json?: boolean;
  verbose?: boolean;
}

export default async function check(options: CheckOptions, inv: Invocation): Promise<number> {
  const now = options.now ?? new Date();
  const result = await withSession(inv, { json: false, verbose: options.verbose }, async (session) => {
    const { config } = session;
    const out = new Output(inv.streams, { json: options.json, verbose: options.verbose, env: inv.env });
    let report;
    try {
      const db = await session.db();
      await assertMigrated(db);
      report = checkReport(await statusesOf(db, config.database.dialect, await jobsWithSchedules(db), now, config.timezone), now);
    } catch (err) {
      return unknown(out, options, describeError(err).message);
    }
    if (options.json) {
      const verdicts = report.jobs.map(({ label: _label, ...v }) => v);
      // The original order of jobs (the registry's), as check --json always printed it.
      verdicts.sort((a, b) => jobs.findIndex((j) => j.name === a.job) - jobs.findIndex((j) => j.name === b.job));
      out.emitJson({ now: now.toISOString(), status: report.status, exitCode: report.exitCode, summary: report.headline, jobs: verdicts });
    } else {
      out.line(report.headline);
      for (const v of report.jobs) out.line(`${v.label.padEnd(8)} ${v.job}: ${v.reason}`);
    }
    return report.exitCode;
  });
  if (result > 3) {
    // Configuration unreadable: withSession has printed the error; Nagios wants a status line.
    inv.streams.stdout.write(`ONTIME UNKNOWN - cannot check (exit ${result}: see the error above)\n`);
    return 3;
  }
  return result;
}

/** Nagios UNKNOWN (3): the probe itself could not look (configuration, database down, not migrated). */
function unknown(out: Output, options: CheckOptions, message: string): number {
  if (options.json) out.emitJson({ status: 'UNKNOWN', exitCode: 3, summary: `ONTIME UNKNOWN - ${message}` });
  else out.line(`ONTIME UNKNOWN - ${message}`);
  return 3;
}
