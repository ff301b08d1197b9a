/**
 * What `ontime enable <job>` and `ontime disable <job>` share: resolve the job (name or
 * snake_case alias), store `job.<name>.enabled`, say what changed.
 */
import { UsageError, ExitCode } from '../errors.js';
import { findJob, jobs } from '../registry.js';
import { assertMigrated, withSession, type Invocation } from '../runner/session.js';

export interface SwitchOptions {
  args: string[];
  json?: boolean;
  verbose?: boolean;
}

export async function switchJob(enabled: boolean, options: SwitchOptions, inv: Invocation): Promise<number> {
  const verb = enabled ? 'enable' : 'disable';
  return withSession(inv, { json: options.json, verbose: options.verbose }, async ({ out, config, db }) => {
    const requested = options.args[0] ?? '';
    const job = findJob(requested);
    if (!job) {
      throw new UsageError(`unknown job "${requested}"; jobs: ${jobs.map((j) => j.name).join(', ')}`);
    }
    const knex = await db();
    await assertMigrated(knex);
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
  });
}
