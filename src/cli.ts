/**
 * The commander program, built from the registry. No business logic: every command's module is
 * imported only when that command runs, so `ontime --help` loads neither knex nor a driver.
 * The one place (with the runner) that decides exit codes.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ExitCode, OntimeError, UsageError } from './errors.js';
import { jobs, type JobDefinition } from './registry.js';
import { parseDuration, parseInstant, positiveInteger } from './parse.js';
import type { Invocation } from './runner/session.js';

/** Wrap our parsers (which throw UsageError) into commander's invalid-argument errors. */
function argParser<T>(parse: (value: string) => T) {
  return (value: string): T => {
    try {
      return parse(value);
    } catch (err) {
      if (err instanceof UsageError) throw new InvalidArgumentError(err.message);
      throw err;
    }
  };
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function addCommonJobOptions(cmd: Command): Command {
  return cmd
    .option('--dry-run', 'report what would change; write nothing, send nothing')
    .option('--verbose', 'one line per item (which case or survey, and why)')
    .option('--json', 'print one JSON summary object on stdout; human lines go to stderr')
    .option('--now <instant>', 'evaluate as of this ISO-8601 instant (a future one needs --dry-run)', argParser(parseInstant('--now')))
    .option('--batch-size <n>', 'items per transaction', argParser(positiveInteger('--batch-size')), 1000)
    .option('--limit <n>', 'stop after n items', argParser(positiveInteger('--limit')))
    .option(
      '--timeout <duration>',
      'stop cleanly after the current batch once this long has passed (90s, 15m, 2h); exit 75',
      argParser(parseDuration('--timeout')),
    );
}

const COMMON_KEYS = new Set(['dryRun', 'verbose', 'json', 'now', 'batchSize', 'limit', 'timeout']);

function addJobCommand(program: Command, def: JobDefinition, inv: Invocation, setExit: (code: number) => void): void {
  const cmd = program
    .command(def.name)
    .alias(def.alias)
    .description(def.description + (def.schedule ? ` [default schedule: ${def.schedule}]` : ' [started by hand]'));
  addCommonJobOptions(cmd);
  for (const spec of def.options) {
    const option = new Option(spec.flags, spec.description);
    if (spec.parse) option.argParser(argParser(spec.parse));
    if (spec.defaultValue !== undefined) option.default(spec.defaultValue);
    cmd.addOption(option);
  }
  cmd.action(async (opts: Record<string, unknown>) => {
    const { runJob } = await import('./runner/run-job.js');
    const jobOptions = Object.fromEntries(Object.entries(opts).filter(([k]) => !COMMON_KEYS.has(k)));
    setExit(
      await runJob(
        def,
        {
          dryRun: Boolean(opts.dryRun),
          verbose: Boolean(opts.verbose),
          json: Boolean(opts.json),
          now: opts.now as Date | undefined,
          batchSize: opts.batchSize as number,
          limit: opts.limit as number | undefined,
          timeout: opts.timeout as number | undefined,
        },
        jobOptions,
        inv,
      ),
    );
  });
}

function addAdminCommands(program: Command, inv: Invocation, setExit: (code: number) => void): void {
  program
    .command('migrate')
    .description('apply pending database migrations (safe to repeat)')
    .option('--status', 'list applied and pending migrations; change nothing')
    .option('--rollback', 'revert the last batch of migrations (drops tables: needs --yes)')
    .option('--yes', 'confirm --rollback')
    .option('--json', 'print the result as JSON on stdout')
    .option('--verbose', 'show stack traces of errors')
    .action(async (opts) => {
      const { default: migrate } = await import('./commands/migrate.js');
      setExit(await migrate(opts, inv));
    });
}

export function buildProgram(inv: Invocation, setExit: (code: number) => void): Command {
  const program = new Command('ontime')
    .description('Scheduled management commands for cases and surveys: one run, one honest exit code.')
    .version(version(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => inv.streams.stdout.write(s),
      writeErr: (s) => inv.streams.stderr.write(s),
    })
    .addHelpText(
      'after',
      '\nExit codes: 0 done · 1 some items failed · 64 usage · 69 SMTP unreachable · 70 bug · 75 retry later · 78 configuration · 130/143 stopped by a signal',
    );
  for (const def of jobs) addJobCommand(program, def, inv, setExit);
  addAdminCommands(program, inv, setExit);
  return program;
}

/** Parse argv, run the command, return the exit code. Never calls process.exit. */
export async function main(argv: string[], inv?: Partial<Invocation>): Promise<number> {
  const invocation: Invocation = {
    streams: inv?.streams ?? { stdout: process.stdout, stderr: process.stderr },
    env: inv?.env ?? process.env,
    cwd: inv?.cwd ?? process.cwd(),
  };
  let exitCode: number = ExitCode.ok;
  const program = buildProgram(invocation, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return ExitCode.ok;
      // Commander has already printed its message; anything it rejects is a usage error.
      return ExitCode.usage;
    }
    const message = err instanceof OntimeError ? err.message : `internal error: ${(err as Error)?.message ?? err}`;
    invocation.streams.stderr.write(`error: ${message}\n`);
    return err instanceof OntimeError ? err.exitCode : ExitCode.internal;
  }
}
