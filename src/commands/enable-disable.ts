/**
 * What `ontime enable <job>` and `ontime disable <job>` share: resolve the job (name or
 * snake_case alias), store `job.<name>.enabled`, say what changed. `--all` switches every job at
 * once (an emergency stop, and the way back), in one transaction.
 */
import { ExitCode, UsageError } from '../errors.js';
import { jobs } from '../registry.js';
import type { AdminContext } from '../runner/admin.js';

export interface SwitchOptions {
  args: string[];
  /** Every job at once. */
  all?: boolean;
  json?: boolean;
  verbose?: boolean;
}

/** Usage checks of `enable` or `disable` (before connecting): a job or --all, exactly one. */
export function validateFor(verb: 'enable' | 'disable') {
  return (options: SwitchOptions): void => {
    if (options.all && options.args.length > 0) throw new UsageError('give a job or --all, not both');
    if (!options.all && options.args.length === 0) {
      throw new UsageError(`${verb} which job? Give its name, or --all for every job`, `jobs: ${jobs.map((j) => j.name).join(', ')}`);
    }
  };
}

async function switchJobs(enabled: boolean, { out, config, db: knex, job }: AdminContext, options: SwitchOptions): Promise<number> {
  const verb = enabled ? 'enable' : 'disable';
  const targets = job ? [job] : [...jobs];
  const { jobEnabledKey, isJobEnabled, writeJobEnabled } = await import('../db/job-settings.js');
  const state = enabled ? 'enabled' : 'disabled';
  const results: Array<{ job: string; setting: string; enabled: boolean; previous: boolean; changed: boolean; action: string }> = [];
  // Every switch in one transaction: --all never leaves half of the jobs switched.
  await knex.transaction(async (trx) => {
    const at = new Date();
    for (const def of targets) {
      // An unreadable stored value is overwritten: that is what enable/disable are for.
      const before = await isJobEnabled(trx, def.name).catch(() => !enabled);
      await writeJobEnabled(trx, config.database.dialect, def.name, enabled, at);
      results.push({ job: def.name, setting: jobEnabledKey(def.name), enabled, previous: before, changed: before !== enabled, action: verb });
    }
  });
  for (const r of results) {
    out.line(r.changed ? `${r.job}: ${r.previous ? 'enabled' : 'disabled'} → ${state}` : `${r.job}: already ${state}; nothing changed`);
    out.detail(`  system_settings ${r.setting} = ${enabled}`);
  }
  if (!enabled) {
    const how = job ? `\`ontime enable ${job.name}\`` : '`ontime enable --all`';
    out.line(`  wherever ${job ? 'it is' : 'they are'} started from (cron, Task Scheduler, Kubernetes, run-due) ${job ? 'it now exits' : 'each now exits'} 0 with a note; ${how} turns ${job ? 'it' : 'them'} back on`);
    if (!job) out.line('  runs already under way finish their current run; stop them with SIGTERM if they must stop now');
  }
  if (options.json) out.emitJson(job ? results[0] : { all: true, action: verb, jobs: results });
  return ExitCode.ok;
}

/** `ontime enable <job>` / `--all`: store job.<name>.enabled = true. */
export function enable(ctx: AdminContext, options: SwitchOptions): Promise<number> {
  return switchJobs(true, ctx, options);
}

/** `ontime disable <job>` / `--all`: store job.<name>.enabled = false; wherever it is started from, it exits 0 with a note. */
export function disable(ctx: AdminContext, options: SwitchOptions): Promise<number> {
  return switchJobs(false, ctx, options);
}
