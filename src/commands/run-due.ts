/**
 * `ontime run-due [--now] [--dry-run] [--json]`: one dispatcher pass, for a single `* * * * *`
 * crontab line. Exit code: the worst of the jobs it started (see dispatch/spawn-job.ts).
 */
import { runDuePass, type DueEntry } from '../dispatch/run-due.js';
import type { AdminContext } from '../runner/admin.js';
import { refuseFutureNow } from '../runner/session.js';
import { onStopSignals, signalExitCode } from '../runner/signals.js';

export interface RunDueOptions {
  now?: Date;
  dryRun?: boolean;
  json?: boolean;
  verbose?: boolean;
}

export function validate(options: RunDueOptions): void {
  refuseFutureNow(options.now, new Date(), Boolean(options.dryRun), 'running jobs for a future slot changes data early; add --dry-run to preview it');
}

export default async function runDue({ session, db, inv }: AdminContext, options: RunDueOptions): Promise<number> {
  const now = options.now ?? new Date();
  let stopping: NodeJS.Signals | null = null;
  let current: import('node:child_process').ChildProcess | null = null;
  // A signal (a CronJob being stopped, Ctrl-C) is passed to the running job, which finishes its
  // batch and records `interrupted`; no further job is started.
  const onSignal = (signal: NodeJS.Signals) => {
    stopping = signal;
    current?.kill(signal);
  };
  const stopListening = onStopSignals(onSignal);
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
    if (stopping) return signalExitCode(stopping);
    return result.exitCode;
  } finally {
    stopListening();
  }
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
