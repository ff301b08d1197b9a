/**
 * Mail to ONTIME_ALERT_EMAILS when a real run ends. ONTIME_NOTIFY says when: `failure` (default:
 * the failure alert of alerts.ts only), `always` (also a completion mail after every other
 * ending, saying what the run did), `never`. The system setting `job.<name>.notify` (written by
 * `ontime notify`) overrides it for one job. A value that is none of these is a warning and the
 * default applies: the run's work is done, and a typo must not silence failure alerts.
 */
import { basename } from 'node:path';
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import { redact } from '../errors.js';
import { formatDuration, formatUtc, type Output } from '../output.js';
import type { OutgoingMessage } from '../mail/mailer.js';
import { alertWanted, mailAlertAddresses, runMailKey, sendFailureAlert, type AlertFacts } from './alerts.js';

export const NOTIFY_POLICIES = ['failure', 'always', 'never'] as const;
export type NotifyPolicy = (typeof NOTIFY_POLICIES)[number];

export function notifySettingKey(job: string): string {
  return `job.${job}.notify`;
}

function asPolicy(value: string | undefined): NotifyPolicy | undefined | null {
  const v = value?.trim().toLowerCase();
  if (!v) return undefined;
  return (NOTIFY_POLICIES as readonly string[]).includes(v) ? (v as NotifyPolicy) : null;
}

/** The policy for one job: its system setting, else ONTIME_NOTIFY, else `failure`; where it came from. */
export async function notifyPolicyOf(db: Knex, config: Config, job: string, out?: Output): Promise<{ policy: NotifyPolicy; from: string }> {
  const { getSetting } = await import('../db/settings.js');
  const key = notifySettingKey(job);
  const setting = await getSetting(db, key);
  const perJob = asPolicy(setting);
  if (perJob) return { policy: perJob, from: `system setting ${key}` };
  if (perJob === null) out?.warn(`system setting ${key} is "${setting}", not one of ${NOTIFY_POLICIES.join('|')}; ONTIME_NOTIFY applies`);
  const env = asPolicy(config.env.ONTIME_NOTIFY);
  if (env) return { policy: env, from: 'ONTIME_NOTIFY' };
  if (env === null) out?.warn(`ONTIME_NOTIFY is "${config.env.ONTIME_NOTIFY}", not one of ${NOTIFY_POLICIES.join('|')}; using failure`);
  return { policy: 'failure', from: 'the default' };
}

/** Where the status page can be read: ONTIME_STATUS_URL, or SITE_URL plus the page's file name. */
export function statusPageUrl(config: Config): string | null {
  const explicit = config.env.ONTIME_STATUS_URL?.trim();
  if (explicit) return explicit;
  const site = config.env.SITE_URL?.trim();
  const page = config.env.ONTIME_STATUS_HTML?.trim();
  return site && page ? `${site.replace(/\/+$/, '')}/${basename(page)}` : null;
}

export interface CompletionFacts extends AlertFacts {
  summary: Record<string, unknown>;
  finishedAt: Date;
}

/** The counts of the summary, as lines: `released: 2`. Flags and texts are left to `ontime history`. */
function summaryLines(summary: Record<string, unknown>): string[] {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(summary)) {
    if (typeof value === 'number') lines.push(`  ${key}: ${value}`);
    else if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) if (typeof v === 'number') lines.push(`  ${key}.${k}: ${v}`);
    }
  }
  return lines.length > 0 ? lines : ['  (no counts recorded)'];
}

export function completionMessage(facts: CompletionFacts, to: string, statusUrl: string | null): OutgoingMessage {
  const took = formatDuration(Math.max(0, facts.finishedAt.getTime() - facts.startedAt.getTime()));
  const lines = [
    `The ontime job ${facts.job} ${facts.status} on ${facts.host} (exit ${facts.exitCode}, took ${took}).`,
    '',
    `Run:        #${facts.runId}, started ${formatUtc(facts.startedAt)} (${facts.trigger}), finished ${formatUtc(facts.finishedAt)}`,
    '',
    'What it did:',
    ...summaryLines(facts.summary),
    '',
    statusUrl ? `Status page: ${statusUrl}` : `More: \`ontime status\` or \`ontime history ${facts.job}\` on any host.`,
    '',
    `You get this mail because notifications for ${facts.job} are "always" (ONTIME_NOTIFY or \`ontime notify ${facts.job}\`).`,
  ];
  return {
    dedupeKey: runMailKey('job-completion', facts.runId, to),
    kind: 'job-completion',
    to,
    subject: `[ontime] ${facts.job} ${facts.status} on ${facts.host} (exit ${facts.exitCode})`.slice(0, 255),
    text: redact(lines.join('\n')),
  };
}

/** After a real run: the failure alert, a completion mail, or nothing, as the job's policy says. */
export async function notifyAfterRun(config: Config, db: Knex, facts: CompletionFacts, out: Output): Promise<void> {
  if (config.alertEmails.length === 0) return;
  let policy: NotifyPolicy = 'failure';
  try {
    policy = (await notifyPolicyOf(db, config, facts.job, out)).policy;
  } catch (err) {
    out.warn(`could not read the notification setting of ${facts.job}: ${(err as Error).message}; using failure`);
  }
  if (policy === 'never') return;
  if (alertWanted(facts.status, facts.exitCode)) {
    await sendFailureAlert(config, db, facts, out);
  } else if (policy === 'always') {
    const url = statusPageUrl(config);
    await mailAlertAddresses(config, db, facts.runId, (to) => completionMessage(facts, to, url), 'completion mail', out);
  }
}
