/**
 * `ontime doctor [--json]`: configuration, database, migrations, mail, .env permissions, the
 * clock and the schema profile against the live tables, each finding with its fix. Exit 0 when nothing needs doing; 78 when a finding needs a
 * configuration change (wins over 75: a person has to act either way); 75 when something is
 * unreachable (the database or the SMTP server: perhaps later it will answer). Warnings (clock
 * skew, no .env protection on Windows) are printed but do not change the exit code.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { loadConfig, type Config } from '../config.js';
import { describeError, ExitCode, OntimeError } from '../errors.js';
import { Output } from '../output.js';
import type { Invocation } from '../runner/session.js';

export interface DoctorOptions {
  json?: boolean;
  verbose?: boolean;
  /** SQLite: rewrite compared instants and days to the canonical form (needs `yes`). */
  fixTimestamps?: boolean;
  yes?: boolean;
}

type Level = 'ok' | 'warn' | 'fail';

export interface Finding {
  check: string;
  level: Level;
  message: string;
  fix?: string;
  /** For failures: 78 (configuration) or 75 (unreachable). */
  exitCode?: number;
}

/** Host and database clocks may differ by this much before doctor warns. */
const CLOCK_TOLERANCE_MS = 5_000;
const SMTP_TIMEOUT_MS = 10_000;

export default async function doctor(options: DoctorOptions, inv: Invocation): Promise<number> {
  const out = new Output(inv.streams, { json: options.json, verbose: options.verbose, env: inv.env });
  if (options.fixTimestamps && !options.yes) {
    out.error('--fix-timestamps rewrites stored values: add --yes to confirm', 'run `ontime doctor` first to see which values it would rewrite');
    return ExitCode.usage;
  }
  const findings: Finding[] = [];
  const add = (f: Finding) => {
    findings.push(f);
    if (!options.json) print(out, f);
  };

  if (!options.json) out.line(out.style.bold('ontime doctor'));
  checkEnvFile(inv.cwd, add);

  let config: Config | undefined;
  try {
    config = loadConfig(inv.env, inv.cwd);
    add({
      check: 'configuration',
      level: 'ok',
      message: `database ${config.database.display}${config.database.isDefault ? ' (DATABASE_URL not set: the embedded default)' : ''}; email ${emailText(config)}; schedules in ${config.timezone}; locks ${config.lockMode}`,
    });
  } catch (err) {
    const d = describeError(err);
    add({ check: 'configuration', level: 'fail', message: d.message, fix: d.hint ?? 'correct the variable in the environment or .env', exitCode: ExitCode.config });
  }

  if (config) {
    const knex = await checkDatabase(config, add);
    if (knex) {
      try {
        await checkMigrations(knex, add);
        await checkClock(knex, config, add);
        await (await import('./doctor-locks.js')).checkLocks(knex, config, add);
        await (await import('./doctor-timestamps.js')).checkTimestamps(knex, config, Boolean(options.fixTimestamps), add);
        await (await import('./doctor-profile.js')).checkProfile(knex, config, Boolean(options.verbose), add);
      } finally {
        await knex.destroy().catch(() => undefined);
      }
    }
    await checkMail(config, inv.cwd, add);
  }

  const failures = findings.filter((f) => f.level === 'fail');
  const exitCode = failures.some((f) => f.exitCode === ExitCode.config)
    ? ExitCode.config
    : failures.length > 0
      ? ExitCode.tempfail
      : 0;
  if (options.json) {
    out.emitJson({ ok: exitCode === 0, exitCode, findings });
  } else {
    const warnings = findings.filter((f) => f.level === 'warn').length;
    out.line('');
    out.line(
      failures.length === 0
        ? `All checks passed${warnings ? ` (${warnings} warning${warnings === 1 ? '' : 's'})` : ''}.`
        : `${failures.length} problem${failures.length === 1 ? '' : 's'} to fix${warnings ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}; exit ${exitCode}.`,
    );
  }
  return exitCode;
}

function print(out: Output, f: Finding): void {
  const label = f.level === 'ok' ? out.style.green('ok  ') : f.level === 'warn' ? out.style.yellow('warn') : out.style.red('FAIL');
  out.line(`  ${label}  ${f.check}: ${f.message}`);
  if (f.fix) out.line(`        fix: ${f.fix}`);
}

function emailText(config: Config): string {
  const e = config.email;
  switch (e.backend) {
    case 'smtp':
      return `smtp ${e.host}:${e.port}${e.useSsl ? ' (implicit TLS)' : e.useTls ? ' (STARTTLS)' : ''}`;
    case 'console':
      return 'console (messages are printed, not sent)';
    case 'file':
      return `file (.eml files in ${e.filePath})`;
    default:
      return 'not configured';
  }
}

function checkEnvFile(cwd: string, add: (f: Finding) => void): void {
  const file = join(cwd, '.env');
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch {
    return; // no .env: nothing to protect
  }
  if (process.platform === 'win32') {
    add({ check: '.env', level: 'warn', message: `${file} exists; its permissions cannot be checked on Windows`, fix: 'make sure only the account that runs ontime can read it' });
  } else if (mode & 0o004) {
    add({ check: '.env', level: 'fail', message: `${file} is readable by every user of this host (mode ${(mode & 0o777).toString(8)}), and it may hold passwords`, fix: `chmod 600 ${file}`, exitCode: ExitCode.config });
  } else {
    add({ check: '.env', level: 'ok', message: `${file} is not world-readable (mode ${(mode & 0o777).toString(8)})` });
  }
}

async function checkDatabase(config: Config, add: (f: Finding) => void): Promise<Knex | undefined> {
  try {
    const { connect } = await import('../db/connect.js');
    const knex = await connect(config.database, { schema: config.schema });
    add({ check: 'database', level: 'ok', message: `${config.database.display} answered` });
    return knex;
  } catch (err) {
    const d = describeError(err);
    const unreachable = d.exitCode === ExitCode.tempfail;
    add({
      check: 'database',
      level: 'fail',
      message: d.message,
      fix: d.hint ?? (unreachable ? 'start the database server or correct the host and port in DATABASE_URL' : 'correct DATABASE_URL (user, password, database name)'),
      exitCode: unreachable ? ExitCode.tempfail : ExitCode.config,
    });
    return undefined;
  }
}

async function checkMigrations(knex: Knex, add: (f: Finding) => void): Promise<void> {
  const { pendingMigrations } = await import('../db/migrations/index.js');
  const pending = await pendingMigrations(knex);
  if (pending.length === 0) add({ check: 'migrations', level: 'ok', message: 'all applied' });
  else add({ check: 'migrations', level: 'fail', message: `${pending.length} pending: ${pending.join(', ')}`, fix: 'run `ontime migrate`', exitCode: ExitCode.config });
}

async function checkClock(knex: Knex, config: Config, add: (f: Finding) => void): Promise<void> {
  const { databaseNow } = await import('../db/dialect.js');
  const before = Date.now();
  const raw = await databaseNow(knex, config.database.dialect);
  const after = Date.now();
  if (raw === null) {
    add({ check: 'clock', level: 'ok', message: `host clock ${new Date().toISOString()} (SQLite has no clock of its own; leases use this host's)` });
    return;
  }
  const { fromDbInstant } = await import('../db/time.js');
  const dbNow = fromDbInstant(raw);
  if (!dbNow) return;
  // The database read its clock somewhere during the round trip; compare with the middle of it.
  const skew = (before + after) / 2 - dbNow.getTime();
  const seconds = (Math.abs(skew) / 1000).toFixed(1);
  if (Math.abs(skew) > CLOCK_TOLERANCE_MS) {
    add({
      check: 'clock',
      level: 'warn',
      message: `this host's clock is ${seconds}s ${skew > 0 ? 'ahead of' : 'behind'} the database's`,
      fix: 'enable time synchronisation (chrony, systemd-timesyncd, w32time) on this host and the database server; schedule slots are read from this host\'s clock',
    });
  } else {
    add({ check: 'clock', level: 'ok', message: `host and database clocks agree within ${seconds}s` });
  }
}

async function checkMail(config: Config, cwd: string, add: (f: Finding) => void): Promise<void> {
  const e = config.email;
  if (!e.backend) {
    add({
      check: 'email',
      level: 'fail',
      message: 'no email is configured: send-scheduled-emails and process-data-governance cannot send and will exit 78',
      fix: 'set EMAIL_HOST (and EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD), or EMAIL_BACKEND=console / file while trying ontime out',
      exitCode: ExitCode.config,
    });
    return;
  }
  if (e.backend === 'console') {
    add({ check: 'email', level: 'warn', message: 'EMAIL_BACKEND=console: messages are printed, nobody receives them', fix: 'set EMAIL_HOST for real delivery' });
    return;
  }
  if (e.backend === 'smtp' && e.user && e.allowPlaintextAuth && !e.useTls && !e.useSsl) {
    add({
      check: 'email',
      level: 'warn',
      message: 'EMAIL_ALLOW_PLAINTEXT_AUTH=true: the SMTP password is sent in clear when the server offers no STARTTLS',
      fix: 'set EMAIL_USE_TLS or EMAIL_USE_SSL once the mail server supports TLS, and remove EMAIL_ALLOW_PLAINTEXT_AUTH',
    });
  }
  try {
    const { createTransport } = await import('../mail/transport.js');
    const transport = await createTransport(e, { cwd });
    try {
      const verdict = await Promise.race([
        transport.verify(),
        new Promise<{ ok: false; error: string; cause: 'connect' }>((resolve) =>
          setTimeout(() => resolve({ ok: false, error: `no answer from ${e.host}:${e.port} within ${SMTP_TIMEOUT_MS / 1000}s`, cause: 'connect' }), SMTP_TIMEOUT_MS).unref(),
        ),
      ]);
      if (verdict.ok) add({ check: 'email', level: 'ok', message: verdict.detail });
      else {
        const isConfig = verdict.cause !== 'connect';
        add({
          check: 'email',
          level: 'fail',
          message: verdict.error,
          fix: isConfig
            ? 'check EMAIL_HOST_USER / EMAIL_HOST_PASSWORD and EMAIL_USE_TLS / EMAIL_USE_SSL against what the mail server expects'
            : `check that ${e.host}:${e.port} is the right server and that this host may connect to it (firewall)`,
          exitCode: isConfig ? ExitCode.config : ExitCode.tempfail,
        });
      }
    } finally {
      await transport.close();
    }
  } catch (err) {
    const message = err instanceof OntimeError ? err.message : (err as Error).message;
    add({ check: 'email', level: 'fail', message, fix: 'correct the EMAIL_* settings', exitCode: ExitCode.config });
  }
}
