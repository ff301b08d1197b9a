/**
 * `ontime run-due [--now] [--dry-run] [--json]`: one dispatcher pass, for a single `* * * * *`
 * crontab line. Exit code: the worst of the jobs it started (see dispatch/spawn-job.ts).
 */
import { UsageError } from '../errors.js';
import { runDuePass, type DueEntry } from '../dispatch/run-due.js';
import { assertMigrated, withSession, type Invocation } from '../runner/session.js';

export interface RunDueOptions {
  now?: Date;
  dryRun?: boolean;
  json?: boolean;
  verbose?: boolean;
}

/** Slack for `--now` against the clock, as for jobs: a value typed a moment ago is not the future. */
const NOW_SLACK_MS = 1000;

export default async function runDue(options: RunDueOptions, inv: Invocation): Promise<number> {
  const clock = new Date();
  const now = options.now ?? clock;
  return withSession(inv, { json: options.json, verbose: options.verbose, jsonOnError: () => ({ now: now.toISOString() }) }, async (session) => {
    if (options.now && !options.dryRun && options.now.getTime() > clock.getTime() + NOW_SLACK_MS) {
      throw new UsageError(
        `--now ${options.now.toISOString()} is later than the clock (${clock.toISOString()})`,
        'running jobs for a future slot changes data early; add --dry-run to preview it',
      );
    }
    const db = await session.db();
    await assertMigrated(db);
    let stopping: NodeJS.Signals | null = null;
    let current: import('node:child_process').ChildProcess | null = null;
    // A signal (a CronJob being stopped, Ctrl-C) is passed to the running job, which finishes its
    // batch and records `interrupted`; no further job is started.
    const onSignal = (signal: NodeJS.Signals) => {
      stopping = signal;
      current?.kill(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    try {
      const result = await runDuePass({
        db,
        dialect: session.config.database.dialect,
        out: session.out,
        env: inv.env,
        cwd: inv.cwd,
        timezone: session.config.timezone,
        now,
        passNow: options.now !== undefined,
        dryRun: Boolean(options.dryRun),
        verbose: Boolean(options.verbose),
        stopRequested: () => stopping !== null,
        onChild: (c) => {
          current = c;
        },
      });
      if (!options.dryRun) {
        const { refreshStatusPage } = await import('../status/refresh.js');
        await refreshStatusPage(db, session.config, session.out);
      }
      if (options.json) {
        session.out.emitJson({
          now: now.toISOString(),
          timezone: session.config.timezone,
          dryRun: Boolean(options.dryRun),
          jobs: result.plan.map(planJson),
          started: result.outcomes,
          exitCode: result.exitCode,
        });
      }
      if (stopping) return stopping === 'SIGINT' ? 130 : 143;
      return result.exitCode;
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
  });
}

function planJson(e: DueEntry) {
  return {
    job: e.job.name,
    schedule: e.job.schedule,
    action: e.action,
    slot: e.slot?.toISOString() ?? null,
    catchUpUntil: e.windowEnds?.toISOString() ?? null,
    missedEarlierSlots: e.missedEarlier,
    existingRun: e.existing ? { id: e.existing.id, status: e.existing.status, exitCode: e.existing.exitCode } : null,
    problem: e.problem ?? null,
  };
}
