/**
 * `ontime schedule <job> "<cron>"` stores the operator's schedule for a job in system_settings
 * (`job.<name>.schedule`); `ontime schedule <job> --reset` goes back to the built-in one;
 * `ontime schedule <job>` shows which is in force. run-due, work, jobs, why, check and export read it.
 */
import { ExitCode, UsageError } from '../errors.js';
import { findJob, jobs } from '../registry.js';
import { assertMigrated, withSession, type Invocation } from '../runner/session.js';
import { CronExpressionError, parseCron } from '../schedule/cron.js';

export interface ScheduleOptions {
  args: string[];
  reset?: boolean;
  json?: boolean;
  verbose?: boolean;
}

const FIELDS = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'] as const;

/**
 * The expression, checked; a bad one is a usage error (64) naming the field at fault, found by
 * trying each field alone among wildcards.
 */
export function checkedExpression(expression: string): string {
  try {
    return parseCron(expression).expression;
  } catch (err) {
    if (!(err instanceof CronExpressionError)) throw err;
    const parts = expression.trim().split(/\s+/);
    if (parts.length === 5) {
      const wrong = parts.findIndex((part, i) => {
        const probe = FIELDS.map((_, j) => (j === i ? part : '*')).join(' ');
        try {
          parseCron(probe);
          return false;
        } catch {
          return true;
        }
      });
      if (wrong >= 0) {
        throw new UsageError(`the ${FIELDS[wrong]} field "${parts[wrong]}" of "${expression}" is not valid (${err.problem})`, 'fields: minute hour day-of-month month day-of-week');
      }
    }
    throw new UsageError(err.message, 'fields: minute hour day-of-month month day-of-week, e.g. "30 2 * * *"');
  }
}

export default async function schedule(options: ScheduleOptions, inv: Invocation): Promise<number> {
  return withSession(inv, { json: options.json, verbose: options.verbose }, async ({ out, config, db }) => {
    const [name = '', expression] = options.args;
    const def = findJob(name);
    if (!def) throw new UsageError(`unknown job "${name}"; jobs: ${jobs.map((j) => j.name).join(', ')}`);
    if (def.schedule === null) {
      throw new UsageError(`${def.name} is started by hand only and cannot be given a schedule`);
    }
    if (expression !== undefined && options.reset) throw new UsageError('give a cron expression or --reset, not both');
    // Checked before connecting: a wrong expression is refused whatever the database's state.
    const wanted = expression === undefined ? undefined : checkedExpression(expression);
    const knex = await db();
    await assertMigrated(knex);
    const { jobScheduleKey, jobsWithSchedules, writeJobSchedule } = await import('../db/job-settings.js');
    const [before] = await jobsWithSchedules(knex, [def]).catch(() => [{ schedule: '(unreadable)', scheduleOverridden: true }]);
    if (wanted !== undefined || options.reset) {
      await writeJobSchedule(knex, config.database.dialect, def.name, options.reset ? null : wanted!, new Date());
    }
    const schedule = options.reset ? def.schedule : (wanted ?? before!.schedule);
    const overridden = options.reset ? false : wanted !== undefined || before!.scheduleOverridden;
    const describe = (expr: string | null, own: boolean) => `${expr} (${own ? 'set with ontime schedule' : 'built-in default'})`;
    if (wanted === undefined && !options.reset) {
      out.line(`${def.name}: ${describe(schedule, overridden)}, read in ${config.timezone}`);
    } else {
      out.line(`${def.name}: ${describe(before!.schedule, before!.scheduleOverridden)} → ${describe(schedule, overridden)}, read in ${config.timezone}`);
      out.line('  run-due and work follow it from their next pass; re-run `ontime export` where cron, systemd, Task Scheduler or Kubernetes start the jobs');
    }
    out.detail(`  system_settings ${jobScheduleKey(def.name)} = ${overridden ? schedule : '(absent)'}`);
    if (options.json) out.emitJson({ job: def.name, schedule, default: def.schedule, overridden, setting: jobScheduleKey(def.name) });
    return ExitCode.ok;
  });
}
