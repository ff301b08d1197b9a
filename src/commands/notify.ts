/**
 * `ontime notify <job> [always|failure|never|default]`: when ONTIME_ALERT_EMAILS hears about this
 * job's runs (system setting job.<name>.notify; `default` removes it so ONTIME_NOTIFY applies).
 * Without a value: the job's policy now and where it comes from.
 */
import { UsageError } from '../errors.js';
import { findJob, jobs } from '../registry.js';
import { assertMigrated, withSession, type Invocation } from '../runner/session.js';

export interface NotifyOptions {
  args: string[];
  json?: boolean;
  verbose?: boolean;
}

const CHOICES = ['always', 'failure', 'never', 'default'];

export default async function notify(options: NotifyOptions, inv: Invocation): Promise<number> {
  return withSession(inv, { json: options.json, verbose: options.verbose }, async ({ out, config, db }) => {
    const [requested = '', value] = options.args;
    const job = findJob(requested);
    if (!job) throw new UsageError(`unknown job "${requested}"; jobs: ${jobs.map((j) => j.name).join(', ')}`);
    const choice = value?.trim().toLowerCase();
    if (choice !== undefined && !CHOICES.includes(choice)) {
      throw new UsageError(`notification policy must be one of ${CHOICES.join(', ')}, not "${value}"`);
    }
    const knex = await db();
    await assertMigrated(knex);
    const [{ notifyPolicyOf, notifySettingKey }, { deleteSetting, setSetting }] = await Promise.all([import('../runner/notify.js'), import('../db/settings.js')]);
    const key = notifySettingKey(job.name);
    if (choice === 'default') await deleteSetting(knex, key);
    else if (choice) await setSetting(knex, config.database.dialect, key, choice, new Date());
    const { policy, from } = await notifyPolicyOf(knex, config, job.name, out);
    if (options.json) {
      out.emitJson({ job: job.name, setting: key, policy, from, alertEmails: config.alertEmails.length });
      return 0;
    }
    const meaning = { always: 'a mail after every run (failure alerts and completion mails)', failure: 'a mail when a run fails', never: 'no mail at all' }[policy];
    out.line(`${job.name}: notify ${policy} (${from}): ${meaning}`);
    if (config.alertEmails.length === 0) out.line('  ONTIME_ALERT_EMAILS is not set: no mail is sent whatever the policy.');
    return 0;
  });
}
