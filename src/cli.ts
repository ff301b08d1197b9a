/**
 * The commander program, built from the registry. No business logic: every command's module is
 * imported only when that command runs, so `ontime --help` loads neither knex nor a driver.
 * The one place (with the runner) that decides exit codes.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ExitCode, OntimeError, UsageError } from './errors.js';
import { jobs, type JobDefinition } from './registry.js';
import { LIMITS, parseDuration, parseInstant, positiveInteger } from './parse.js';
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
    .option('--batch-size <n>', 'items per transaction', argParser(positiveInteger('--batch-size', LIMITS.batchSize)), 1000)
    .option('--limit <n>', 'stop after n items', argParser(positiveInteger('--limit', LIMITS.limit)))
    .option(
      '--timeout <duration>',
      'stop cleanly after the current batch once this long has passed (90s, 15m, 2h); exit 75',
      argParser(parseDuration('--timeout', LIMITS.timeoutMs)),
    )
    // Set by the dispatcher (`run-due`) when it starts a job; recorded in job_runs. Not for people.
    .addOption(new Option('--trigger <trigger>', 'who started the run').choices(['cli', 'run-due']).default('cli').hideHelp())
    .addOption(
      new Option('--scheduled-for <instant>', 'the schedule slot this run serves').argParser(argParser(parseInstant('--scheduled-for'))).hideHelp(),
    );
}

const COMMON_KEYS = new Set(['dryRun', 'verbose', 'json', 'now', 'batchSize', 'limit', 'timeout', 'trigger', 'scheduledFor']);

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
          trigger: opts.trigger === 'run-due' ? 'run-due' : 'cli',
          scheduledFor: opts.scheduledFor as Date | undefined,
        },
        jobOptions,
        inv,
      ),
    );
  });
}

/** An admin command module: `default(options, invocation) → exit code`. */
type AdminModule = { default: (options: any, inv: Invocation) => Promise<number> };

interface AdminSpec {
  name: string;
  /** e.g. `<job>` or `[job]`; values arrive as options.args */
  args?: string;
  description: string;
  options: Array<[flags: string, description: string, parse?: (v: string) => unknown]>;
  load(): Promise<AdminModule>;
}

const jsonOption: [string, string] = ['--json', 'print the result as JSON on stdout'];
const verboseOption: [string, string] = ['--verbose', 'show more detail, and stack traces of errors'];

const adminCommands: AdminSpec[] = [
  {
    name: 'migrate',
    description: 'apply pending database migrations (safe to repeat)',
    options: [
      ['--status', 'list applied and pending migrations; change nothing'],
      ['--rollback', 'revert the last batch of migrations (drops tables: needs --yes)'],
      ['--yes', 'confirm --rollback'],
      ['--force-drop-data <database>', 'let --rollback drop tables that hold rows: repeat the database name'],
      jsonOption,
      verboseOption,
    ],
    load: () => import('./commands/migrate.js'),
  },
  {
    name: 'jobs',
    description: 'every job: schedule, enabled, next run, last run and result',
    options: [['--now <instant>', 'evaluate as of this instant', parseInstant('--now')], jsonOption, verboseOption],
    load: () => import('./commands/jobs.js'),
  },
  {
    name: 'history',
    args: '[job]',
    description: 'recent runs (job_runs), newest first',
    options: [['--limit <n>', 'how many runs to show (default 20)', positiveInteger('--limit', LIMITS.limit)], jsonOption, verboseOption],
    load: () => import('./commands/history.js'),
  },
  {
    name: 'locks',
    description: 'held job locks with holder, since and expiry',
    options: [['--release <job>', 'free the lease a dead host left behind (needs --yes)'], ['--yes', 'confirm --release'], jsonOption, verboseOption],
    load: () => import('./commands/locks.js'),
  },
  {
    name: 'run-due',
    description: 'run every enabled job whose latest schedule slot has not run yet (for one `* * * * *` crontab line)',
    options: [['--now <instant>', 'evaluate the schedule as of this instant', parseInstant('--now')], ['--dry-run', 'say what would run; run nothing'], jsonOption, verboseOption],
    load: () => import('./commands/run-due.js'),
  },
  {
    name: 'work',
    description: 'foreground loop: run-due at the top of every minute, for hosts without cron (stops on SIGTERM)',
    options: [verboseOption],
    load: () => import('./commands/work.js'),
  },
  {
    name: 'why',
    args: '<job>',
    description: "explain the job's latest schedule slot (ran, skipped, disabled, not yet due) and its next one",
    options: [['--now <instant>', 'evaluate as of this instant', parseInstant('--now')], jsonOption, verboseOption],
    load: () => import('./commands/why.js'),
  },
  {
    name: 'enable',
    args: '<job>',
    description: 'enable a job (stored in system_settings)',
    options: [jsonOption, verboseOption],
    load: () => import('./commands/enable.js'),
  },
  {
    name: 'disable',
    args: '<job>',
    description: 'disable a job: wherever it is started from, it exits 0 with a note',
    options: [jsonOption, verboseOption],
    load: () => import('./commands/disable.js'),
  },
  {
    name: 'check',
    description: 'monitoring probe with Nagios exit codes: 0 all on time and green, 1 late or partial, 2 failed or never ran',
    options: [['--now <instant>', 'evaluate as of this instant', parseInstant('--now')], jsonOption, verboseOption],
    load: () => import('./commands/check.js'),
  },
  {
    name: 'doctor',
    description: 'check configuration, database, migrations, SMTP and clock; print the fix for each problem',
    options: [jsonOption, verboseOption],
    load: () => import('./commands/doctor.js'),
  },
  {
    name: 'export',
    args: '<platform>',
    description: 'print the schedule for crontab, schtasks (Windows), k8s or systemd, from the job registry',
    options: [
      ['--command <prefix>', 'how to start ontime on the target (default "npx ontime")'],
      ['--cwd <dir>', 'working directory of the jobs'],
      ['--env-file <file>', 'environment file the jobs read'],
      ['--log-dir <dir>', 'directory for log files (crontab, schtasks)'],
      ['--image <image>', 'container image (k8s)'],
      ['--namespace <ns>', 'namespace (k8s)'],
      ['--secret <name>', 'Secret holding the environment (k8s)'],
      ['--randomized-delay <duration>', 'RandomizedDelaySec for timers (systemd)'],
      ['--out <dir>', 'write one file per job into this directory instead of printing'],
      verboseOption,
    ],
    load: () => import('./commands/export.js'),
  },
  {
    name: 'demo',
    description: 'try ontime with no setup: a SQLite demo database with example data, every job run, what to try next',
    options: [verboseOption],
    load: () => import('./commands/demo.js'),
  },
];

function addAdminCommands(program: Command, inv: Invocation, setExit: (code: number) => void): void {
  for (const spec of adminCommands) {
    const cmd = program.command(spec.args ? `${spec.name} ${spec.args}` : spec.name).description(spec.description);
    for (const [flags, description, parse] of spec.options) {
      const option = new Option(flags, description);
      if (parse) option.argParser(argParser(parse));
      cmd.addOption(option);
    }
    cmd.action(async (...actionArgs: unknown[]) => {
      // commander passes positional arguments, then the options object, then the command.
      const positional = actionArgs.slice(0, -2) as Array<string | undefined>;
      const opts = actionArgs[actionArgs.length - 2] as Record<string, unknown>;
      const { default: run } = await spec.load();
      setExit(await run({ ...opts, args: positional.filter((a): a is string => a !== undefined) }, inv));
    });
  }
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

/**
 * The process's own streams, made safe for `ontime … | head`: when the reader goes away, further
 * output is dropped instead of crashing the run with EPIPE halfway through a batch. The job still
 * finishes and its exit code still tells how it went.
 */
function processStreams(): Invocation['streams'] {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
  }
  const guarded = (stream: NodeJS.WriteStream) => ({
    get isTTY() {
      return stream.isTTY;
    },
    write: (chunk: string) => (stream.writable ? stream.write(chunk) : false),
  });
  return { stdout: guarded(process.stdout), stderr: guarded(process.stderr) };
}

/** Parse argv, run the command, return the exit code. Never calls process.exit. */
export async function main(argv: string[], inv?: Partial<Invocation>): Promise<number> {
  const invocation: Invocation = {
    streams: inv?.streams ?? processStreams(),
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
