/**
 * `ontime run <job>`: a job of the jobs file; `ontime exec --name <name> -- <command …>`: any
 * command as a job, declared on the command line (a crontab line's wrapper). Both hand the
 * runner an external job definition: the lock, history, signals and alerts are the runner's.
 */
import { readEnvironment } from '../config.js';
import { UsageError } from '../errors.js';
import { externalJobDefinition } from '../external/jobs-file.js';
import { DEFAULT_KILL_AFTER_MS, validateEntry, type Problem } from '../external/validate.js';
import { builtInJobNames, findJob, jobs } from '../registry.js';
import { runJob, type CommonOptions } from '../runner/run-job.js';
import type { Invocation } from '../runner/session.js';

/** Without --timeout, an exec'd command may run this long (the lease and platform limits follow it). */
export const EXEC_DEFAULT_TIMEOUT = '1h';

export async function runExternalJob(name: string, common: CommonOptions, jobOptions: Record<string, unknown>, inv: Invocation): Promise<number> {
  const def = findJob(name);
  // Reported before any session exists, so what to do is part of the message.
  if (def && !def.external) {
    throw new UsageError(`${def.name} is a built-in job: start it as \`ontime ${def.name}\``);
  }
  if (!def) {
    const external = jobs.filter((j) => j.external).map((j) => j.name);
    throw new UsageError(
      `the jobs file declares no job called "${name}"; ` +
        (external.length > 0 ? `its jobs are: ${external.join(', ')}` : 'no jobs file was found (ontime.jobs.yaml or ontime.jobs.json here, or ONTIME_JOBS_FILE); see docs/external-jobs.md'),
    );
  }
  return runJob(def, common, jobOptions, inv);
}

export async function execCommand(command: string[], common: CommonOptions, jobOptions: Record<string, unknown>, inv: Invocation): Promise<number> {
  const problems: Problem[] = [];
  const entry = {
    name: jobOptions.name,
    command,
    timeout: common.timeout !== undefined ? `${common.timeout}ms` : EXEC_DEFAULT_TIMEOUT,
    ...(jobOptions.schedule !== undefined ? { schedule: jobOptions.schedule } : {}),
  };
  const spec = validateEntry(entry, 0, builtInJobNames(), problems);
  if (!spec) {
    const text = problems.map((p) => `${p.where.replace(/^jobs\[0\]( \([^)]*\))?\./, '--')}: ${p.message}`).join('; ');
    throw new UsageError(text.replace('--command', 'the command after --'));
  }
  let scheduledFor = common.scheduledFor;
  if (spec.schedule && !scheduledFor) {
    // The slot this crontab line serves: a second host running the same line finds it taken.
    const { previousSlot } = await import('../schedule/cron.js');
    const timeZone = (readEnvironment(inv.env, inv.cwd).ONTIME_TIMEZONE ?? '').trim() || 'UTC';
    scheduledFor = previousSlot(spec.schedule, common.now ?? new Date(), timeZone) ?? undefined;
  }
  const def = externalJobDefinition({ ...spec, cwd: inv.cwd, killAfterMs: DEFAULT_KILL_AFTER_MS });
  return runJob(def, { ...common, scheduledFor }, { killAfter: jobOptions.killAfter }, inv);
}
