/**
 * `ontime check [--now] [--json]`: a monitoring probe with Nagios exit codes. 0: every enabled
 * scheduled job's latest slot ran (or is within its grace period) and its most recent finished run
 * succeeded; 1: one is late, partial, interrupted or skipped 3 times in a row behind a live lock
 * holder; 2: one failed or never ran (missed), or is skipped behind a dead or stuck holder; 3:
 * ontime could not check at all.
 */
import { describeError } from '../errors.js';
import { NAGIOS_CODE, RANK, statusesOf, verdictOf, type Verdict } from '../dispatch/slot-status.js';
import { Output } from '../output.js';
import { jobs } from '../registry.js';
import { assertMigrated, withSession, type Invocation } from '../runner/session.js';

export interface CheckOptions {
  now?: Date;
  json?: boolean;
  verbose?: boolean;
}

const LABEL: Record<Verdict, string> = { ok: 'OK', warning: 'WARNING', critical: 'CRITICAL' };

export default async function check(options: CheckOptions, inv: Invocation): Promise<number> {
  const now = options.now ?? new Date();
  const result = await withSession(inv, { json: false, verbose: options.verbose }, async (session) => {
    const { config } = session;
    const out = new Output(inv.streams, { json: options.json, verbose: options.verbose, env: inv.env });
    let verdicts;
    try {
      const db = await session.db();
      await assertMigrated(db);
      const statuses = await statusesOf(db, config.database.dialect, jobs, now, config.timezone);
      verdicts = statuses.map((s) => ({ job: s.job.name, enabled: s.enabled, state: s.state.kind, ...verdictOf(s, now) }));
    } catch (err) {
      return unknown(out, options, describeError(err).message);
    }
    const worst = verdicts.reduce<Verdict>((w, v) => (RANK[v.verdict] > RANK[w] ? v.verdict : w), 'ok');
    const problems = verdicts.filter((v) => v.verdict !== 'ok').sort((a, b) => RANK[b.verdict] - RANK[a.verdict]);
    const scheduled = verdicts.filter((v) => v.state !== 'unscheduled' && v.state !== 'disabled').length;
    const headline =
      problems.length === 0
        ? `ONTIME OK - ${scheduled} scheduled job${scheduled === 1 ? '' : 's'} on time and green`
        : `ONTIME ${LABEL[worst]} - ${problems.map((p) => `${p.job} ${p.short}`).join(', ')}`;
    if (options.json) {
      out.emitJson({ now: now.toISOString(), status: LABEL[worst], exitCode: NAGIOS_CODE[worst], summary: headline, jobs: verdicts });
    } else {
      out.line(headline);
      for (const v of [...problems, ...verdicts.filter((x) => x.verdict === 'ok')]) out.line(`${LABEL[v.verdict].padEnd(8)} ${v.job}: ${v.reason}`);
    }
    return NAGIOS_CODE[worst];
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
