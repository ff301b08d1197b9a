/**
 * `ontime work`: a foreground loop for hosts without cron. At the top of every minute it makes
 * one dispatcher pass (what `ontime run-due` does). SIGTERM or SIGINT stops it after the job that
 * is running, if any (exit 0); a second signal is passed on to that job, which then stops after
 * its current batch. It sleeps between minutes: no polling.
 */
import type { ChildProcess } from 'node:child_process';
import { describeError } from '../errors.js';
import { runDuePass } from '../dispatch/run-due.js';
import { formatUtc } from '../output.js';
import type { AdminContext } from '../runner/admin.js';
import { onStopSignals } from '../runner/signals.js';
import { refreshStatusPage } from '../status/refresh.js';

export interface WorkOptions {
  verbose?: boolean;
}

const MINUTE_MS = 60_000;

export default async function work({ out, config, db, inv }: AdminContext, options: WorkOptions): Promise<number> {
  let stopping: NodeJS.Signals | null = null;
  let current: ChildProcess | null = null;
  let wake: (() => void) | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      // Second signal: the operator means it; the running job stops after its batch.
      current?.kill(signal);
      return;
    }
    stopping = signal;
    out.notice(current ? `ontime work: ${signal}: stopping after the job that is running` : `ontime work: ${signal}: stopping`);
    wake?.();
  };
  const stopListening = onStopSignals(onSignal);

  out.line(`ontime work: starting due jobs at the top of every minute (schedules read in ${config.timezone}); stop with SIGTERM or Ctrl-C`);
  try {
    while (!stopping) {
      const nextMinute = (Math.floor(Date.now() / MINUTE_MS) + 1) * MINUTE_MS;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, nextMinute - Date.now());
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
      if (stopping) break;
      // The clock may have overshot the minute by a little; the slot logic only needs "now".
      const now = new Date(Math.max(Date.now(), nextMinute));
      try {
        const result = await runDuePass({
          db,
          dialect: config.database.dialect,
          out,
          env: inv.env,
          cwd: inv.cwd,
          timezone: config.timezone,
          now,
          passNow: false,
          dryRun: false,
          verbose: Boolean(options.verbose),
          stopRequested: () => stopping !== null,
          onChild: (c) => {
            current = c;
          },
        });
        await refreshStatusPage(db, config, out);
        if (options.verbose && result.outcomes.length === 0) out.detail(`ontime work: ${formatUtc(now)}: nothing due`);
      } catch (err) {
        // The database may be restarting: say so and try again next minute rather than dying.
        out.warn(`ontime work: the pass at ${formatUtc(now)} failed: ${describeError(err).message}; trying again next minute`);
      }
    }
    out.line('ontime work: stopped');
    return 0;
  } finally {
    stopListening();
  }
}
