/**
 * doctor's look at the schema profile (docs/profiles.md): the mapped tables and columns exist with
 * compatible types, and what each job would touch. A missing or mistyped column is a finding
 * (78): the job would fail on its first statement, or compare the wrong thing.
 */
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import { ExitCode } from '../errors.js';
import type { Finding } from './doctor.js';

export async function checkProfile(knex: Knex, config: Config, verbose: boolean, add: (f: Finding) => void): Promise<void> {
  const { checkProfileColumns, expectedColumns, jobTouches } = await import('../db/profile-check.js');
  const schema = config.schema;
  const p = schema.profile;
  const prefix = schema.prefix ? `ontime's own tables prefixed ${schema.prefix}` : "ontime's own tables unprefixed";
  add({ check: 'profile', level: 'ok', message: `${p.name}: ${p.description}; ${prefix}; calendar days in ${p.calendarTimezone}` });
  const problems = await checkProfileColumns(knex, schema);
  for (const q of problems) {
    const where = q.problem === 'no-table' ? `table ${q.table}` : `${q.table}.${q.column}`;
    add({
      check: 'profile',
      level: 'fail',
      message:
        q.problem === 'no-table'
          ? `${where} does not exist`
          : q.problem === 'no-column'
            ? `${where} does not exist`
            : `${where} is ${q.found}, not a ${q.expected === 'instant' ? 'timestamp' : q.expected === 'day' ? 'date' : q.expected} column`,
      fix: 'correct the name in the profile (ONTIME_PROFILE_FILE), or choose the profile of this application (ONTIME_PROFILE)',
      exitCode: ExitCode.config,
    });
  }
  if (problems.length === 0) {
    add({ check: 'profile', level: 'ok', message: `${expectedColumns(schema).length} mapped columns exist with compatible types` });
  }
  if (p.rules.hardDeletionChildren === 'foreign-keys' && p.surveys && !problems.some((q) => q.table === p.surveys!.table)) {
    await checkDeletePlan(knex, config, p.surveys.table, verbose, add);
  }
  for (const { job, touches } of jobTouches(schema)) {
    if (touches || verbose) add({ check: 'profile', level: 'ok', message: `${job}: ${touches ?? 'nothing mapped under this profile (do not schedule it)'}` });
  }
}

/** The foreign-key graph under the survey table: deletable leaf-first, or a 78 naming the cycle. */
async function checkDeletePlan(knex: Knex, config: Config, root: string, verbose: boolean, add: (f: Finding) => void): Promise<void> {
  const { describeDeletePlan, discoverDeletePlan } = await import('../db/foreign-keys.js');
  try {
    const plan = await discoverDeletePlan(knex, config.database.dialect, root, { rootKey: 'id' });
    add({
      check: 'profile',
      level: 'ok',
      message: `hard deletion of a ${root} row deletes from ${plan.dependents.length} referencing tables leaf-first${plan.setNull.length ? `, setting ${plan.setNull.map((e) => `${e.table}.${e.column}`).join(', ')} to null first` : ''}`,
    });
    if (verbose) for (const line of describeDeletePlan(plan)) add({ check: 'profile', level: 'ok', message: `  ${line}` });
  } catch (err) {
    add({ check: 'profile', level: 'fail', message: `the tables under ${root} cannot be deleted leaf-first: ${(err as Error).message}`, fix: 'make one foreign key of the cycle nullable, or delete such surveys in the application', exitCode: ExitCode.config });
  }
}
