/**
 * What `ontime enable <job>` and `ontime disable <job>` share: resolve the job (name or
 * snake_case alias), store `job.<name>.enabled`, say what changed.
 */
import { ExitCode } from '../errors.js';
import type { AdminContext } from '../runner/admin.js';

export interface SwitchOptions {
  args: string[];
  json?: boolean;
  verbose?: boolean;
}

async function switchJob(enabled: boolean, { out, config, db: knex, job: named }: AdminContext, options: SwitchOptions): Promise<number> {
  const verb = enabled ? 'enable' : 'disable';
  const job = named!;
  const { jobEnabledKey, isJobEnabled, writeJobEnabled } = await import('../db/job-settings.js');
  // An unreadable stored value is overwritten: that is what enable/disable are for.
  const before = await isJobEnabled(knex, job.name).catch(() => !enabled);
  await writeJobEnabled(knex, config.database.dialect, job.name, enabled, new Date());
  const changed = before !== enabled;
  const state = enabled ? 'enabled' : 'disabled';
  if (changed) {
    out.line(`${job.name}: ${before ? 'enabled' : 'disabled'} → ${state}`);
  } else {
    out.line(`${job.name}: already ${state}; nothing changed`);
  }
  if (!enabled) {
    out.line(`  wherever it is started from (cron, Task Scheduler, Kubernetes, run-due) it now exits 0 with a note; \`ontime enable ${job.name}\` turns it back on`);
  }
  out.detail(`  system_settings ${jobEnabledKey(job.name)} = ${enabled}`);
  if (options.json) {
    out.emitJson({ job: job.name, setting: jobEnabledKey(job.name), enabled, previous: before, changed, action: verb });
  }
  return ExitCode.ok;
}

/** `ontime enable <job>`: store job.<name>.enabled = true. */
export function enable(ctx: AdminContext, options: SwitchOptions): Promise<number> {
  return switchJob(true, ctx, options);
}

/** `ontime disable <job>`: store job.<name>.enabled = false; wherever it is started from, it exits 0 with a note. */
export function disable(ctx: AdminContext, options: SwitchOptions): Promise<number> {
  return switchJob(false, ctx, options);
}
