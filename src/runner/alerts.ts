/**
 * Failure alerts: when a run ends failed, partial, 69, 70 or 75, one email per address of
 * ONTIME_ALERT_EMAILS, through the outbox (dedupe key `job-failure-alert:<run id>:<address>`,
 * so a retried alert is never sent twice). A failing alert is a warning on stderr: it never
 * changes the job's exit code.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import { redact } from '../errors.js';
import { formatUtc, type Output } from '../output.js';
import type { OutgoingMessage } from '../mail/mailer.js';

export interface AlertFacts {
  job: string;
  runId: number;
  status: string;
  exitCode: number;
  host: string;
  pid: number;
  trigger: string;
  startedAt: Date;
  error: string | null;
  lastLines: string[];
}

/** Which endings page someone: failed, partial, or the exit codes that mean "look at me". */
export function alertWanted(status: string, exitCode: number): boolean {
  return status === 'failed' || status === 'partial' || exitCode === 69 || exitCode === 70 || exitCode === 75;
}

/** `<kind>:<run id>:<address>`, the address hashed when the key would not fit in 191 characters. */
export function runMailKey(kind: string, runId: number, address: string): string {
  const key = `${kind}:${runId}:${address.toLowerCase()}`;
  if (key.length <= 191) return key;
  return `${kind}:${runId}:${createHash('sha256').update(address.toLowerCase()).digest('hex')}`;
}

export function alertMessage(facts: AlertFacts, to: string): OutgoingMessage {
  const what = facts.status === 'partial' ? 'finished with failures' : facts.status === 'interrupted' ? 'was interrupted' : 'failed';
  const lines = [
    `The ontime job ${facts.job} ${what}.`,
    '',
    `Job:        ${facts.job}`,
    `Status:     ${facts.status}`,
    `Exit code:  ${facts.exitCode}`,
    `Host:       ${facts.host} (pid ${facts.pid})`,
    `Run:        #${facts.runId}, started ${formatUtc(facts.startedAt)} (${facts.trigger})`,
    `Error:      ${facts.error ?? '(none; see the output below)'}`,
    '',
    'Last lines of output:',
    ...(facts.lastLines.length > 0 ? facts.lastLines.map((l) => `  ${l}`) : ['  (none)']),
    '',
    `More: \`ontime history ${facts.job}\` on any host; the run is safe to repeat.`,
  ];
  return {
    dedupeKey: runMailKey('job-failure-alert', facts.runId, to),
    kind: 'job-failure-alert',
    to,
    subject: `[ontime] ${facts.job} ${what} on ${facts.host} (exit ${facts.exitCode})`.slice(0, 255),
    text: redact(lines.join('\n')),
  };
}

export async function sendFailureAlert(config: Config, db: Knex, facts: AlertFacts, out: Output): Promise<void> {
  await mailAlertAddresses(config, db, facts.runId, (to) => alertMessage(facts, to), 'failure alert', out);
}

/**
 * One message per address of ONTIME_ALERT_EMAILS, each through the outbox. Any failure is a
 * warning naming `what`: mail about a run never changes the run's exit code.
 */
export async function mailAlertAddresses(
  config: Config,
  db: Knex,
  runId: number,
  message: (to: string) => OutgoingMessage,
  what: string,
  out: Output,
): Promise<void> {
  if (config.alertEmails.length === 0) return;
  let close: (() => Promise<void>) | undefined;
  try {
    const { createMailer } = await import('../mail/index.js');
    const mailer = await createMailer(config, db, { console: out });
    close = () => mailer.close();
    for (const to of config.alertEmails) {
      const row = await mailer.enqueue(db, message(to), runId);
      const outcome = await mailer.deliver(row);
      if (outcome.status !== 'sent' && outcome.status !== 'already-sent') {
        out.warn(`${what} to ${to} not sent (${outcome.status}: ${outcome.error}); it stays in the outbox. The job's exit code is unchanged`);
      }
    }
  } catch (err) {
    out.warn(`${what} not sent: ${(err as Error).message}; the job's exit code is unchanged`);
  } finally {
    await close?.().catch(() => undefined);
  }
}
