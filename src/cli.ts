/**
 * The commander program, wired from the two tables: the jobs (registry.ts) and the admin commands
 * (admin.ts). No business logic: every command's module is
 * imported only when that command runs, so `ontime --help` loads neither knex nor a driver.
 * The one place (with the runner) that decides exit codes.
 */
import { Command, CommanderError, Help, InvalidArgumentError, Option } from 'commander';
import { ExitCode, OntimeError, UsageError } from './errors.js';
import { adminCommands, type AdminCommand } from './admin.js';
import { jobs, type JobDefinition } from './registry.js';
import { batchSize, LIMITS, parseDuration, parseInstant, parseShard, positiveInteger } from './parse.js';
import type { Invocation } from './runner/session.js';
import { packageVersion } from './version.js';
import type { CommonOptions } from './runner/run-job.js';
import type { Shard } from './parse.js';

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

function addCommonJobOptions(cmd: Command): Command {
  return cmd
    .option('--dry-run', 'report what would change; write nothing, send nothing')
    .option('--verbose', 'one line per item (which case or survey, and why)')
    .option('--json', 'print one JSON summary object on stdout; human lines go to stderr')
    .option('--now <instant>', 'evaluate as of this ISO-8601 instant (a future one needs --dry-run)', argParser(parseInstant('--now')))
    .option(
      '--batch-size <n|auto>',
      'items per transaction; auto sizes each batch so its transaction takes about --batch-time',
      argParser(batchSize('--batch-size')),
      'auto',
    )
    .addOption(
      new Option('--batch-time <duration>', 'target time of one batch transaction under --batch-size auto (200ms, 1s)')
        .argParser(argParser(parseDuration('--batch-time', LIMITS.batchTimeMaxMs, LIMITS.batchTimeMinMs)))
        .default(200, '200ms'),
    )
    .option('--limit <n>', 'stop after n items', argParser(positiveInteger('--limit', LIMITS.limit)))
    .option('--shard <i/n>', 'take only rows with id % n = i, under the lock <job>#i/n (also ONTIME_SHARD)', argParser(parseShard('--shard')))
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

const COMMON_KEYS = new Set(['dryRun', 'verbose', 'json', 'now', 'batchSize', 'batchTime', 'limit', 'shard', 'timeout', 'trigger', 'scheduledFor']);

function addJobCommand(program: Command, def: JobDefinition, inv: Invocation, setExit: (code: number) => void): void {
  const cmd = program
    .command(def.name)
    .alias(def.alias)
    .description(jobDescription(def));
  addCommonJobOptions(cmd);
  for (const spec of def.options) {
    const option = new Option(spec.flags, spec.description);
    if (spec.parse) option.argParser(argParser(spec.parse));
    if (spec.defaultValue !== undefined) option.default(spec.defaultValue);
    cmd.addOption(option);
  }
  cmd.action(async (opts: Record<string, unknown>) => {
    const { runJob } = await import('./runner/run-job.js');
    setExit(await runJob(def, commonOptions(opts), jobOptionsOf(opts), inv));
  });
}

function jobOptionsOf(opts: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(opts).filter(([k]) => !COMMON_KEYS.has(k)));
}

function commonOptions(opts: Record<string, unknown>): CommonOptions {
  return {
    dryRun: Boolean(opts.dryRun),
    verbose: Boolean(opts.verbose),
    json: Boolean(opts.json),
    now: opts.now as Date | undefined,
    batchSize: opts.batchSize as number | 'auto',
    batchTimeMs: opts.batchTime as number,
    limit: opts.limit as number | undefined,
    shard: opts.shard as Shard | undefined,
    timeout: opts.timeout as number | undefined,
    trigger: opts.trigger === 'run-due' ? 'run-due' : 'cli',
    scheduledFor: opts.scheduledFor as Date | undefined,
  };
}

/** Commands that read the jobs file (ontime.jobs.yaml / .json), so they see external jobs too. */
const JOB_LIST_COMMANDS = new Set(['run', 'run-due', 'work', 'jobs', 'history', 'why', 'check', 'enable', 'disable', 'export', 'locks', 'status', 'metrics', 'schedule', 'notify']);

/** `ontime run <job>` (a job of the jobs file) and `ontime exec … -- <command>` (no file). */
function addExternalJobCommands(program: Command, inv: Invocation, setExit: (code: number) => void, full: (name: string) => boolean): void {
  const runDescription = 'run a job declared in the jobs file (ontime.jobs.yaml / ontime.jobs.json, or ONTIME_JOBS_FILE)';
  const execDescription = 'run any command as a job, without a jobs file: `ontime exec --name <name> [--schedule <cron>] -- <command …>`';
  if (!full('run')) listOnly(program, 'run <job>', runDescription);
  if (!full('exec')) listOnly(program, 'exec <command...>', execDescription);
  if (!full('run') && !full('exec')) return;
  const killAfter = () =>
    new Option('--kill-after <duration>', 'grace period between SIGTERM and SIGKILL of the command (default: the job\'s killAfter, or 25s)').argParser(
      argParser(parseDuration('--kill-after', LIMITS.timeoutMs)),
    );
  if (full('run')) addRunCommand(program, inv, setExit, runDescription, killAfter);
  if (full('exec')) addExecCommand(program, inv, setExit, execDescription, killAfter);
}

function addRunCommand(program: Command, inv: Invocation, setExit: (code: number) => void, description: string, killAfter: () => Option): void {
  const run = program.command('run <job>').description(description);
  addCommonJobOptions(run).addOption(killAfter());
  run.action(async (name: string, opts: Record<string, unknown>) => {
    const { runExternalJob } = await import('./commands/run-external.js');
    setExit(await runExternalJob(name, commonOptions(opts), jobOptionsOf(opts), inv));
  });
}

function addExecCommand(program: Command, inv: Invocation, setExit: (code: number) => void, description: string, killAfter: () => Option): void {
  const exec = program
    .command('exec')
    .description(description)
    .argument('<command...>', 'the program and its arguments (after --), run without a shell')
    .requiredOption('--name <name>', 'the job name (kebab-case) for the lock, history and alerts')
    .option('--schedule <cron>', 'the crontab schedule this line runs on: claims its slot, so two hosts run it once per slot');
  addCommonJobOptions(exec).addOption(killAfter());
  exec.action(async (command: string[], opts: Record<string, unknown>) => {
    const { execCommand } = await import('./commands/run-external.js');
    setExit(await execCommand(command, commonOptions(opts), jobOptionsOf(opts), inv));
  });
}

function addAdminCommand(program: Command, spec: AdminCommand, inv: Invocation, setExit: (code: number) => void): void {
  const cmd = program.command(adminUsage(spec)).description(spec.description);
  for (const { flags, description, parse } of spec.options) {
    const option = new Option(flags, description);
    if (parse) option.argParser(argParser(parse));
    cmd.addOption(option);
  }
  cmd.action(async (...actionArgs: unknown[]) => {
    // commander passes positional arguments, then the options object, then the command.
    const positional = actionArgs.slice(0, -2) as Array<string | undefined>;
    const opts = actionArgs[actionArgs.length - 2] as Record<string, unknown>;
    const { runAdmin } = await import('./runner/admin.js');
    setExit(await runAdmin(spec, { ...opts, args: positional.filter((a): a is string => a !== undefined) }, inv));
  });
}

/**
 * The command an argument list runs (`help <command>` included), or undefined (`--help`,
 * `--version`, nothing, an unknown word). Global options come first; only --log-format takes a value.
 */
export function commandNamed(argv: string[]): string | undefined {
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-')) i += argv[i] === '--log-format' ? 2 : 1;
  const word = argv[i];
  return word === 'help' ? argv[i + 1] : word;
}

/**
 * Commands other than the one being run are listed for `--help` and for "did you mean" only: their
 * name, alias, arguments and description, without the options (building every option of every
 * command was a third of the time of `ontime --help`). A listed stub keeps `[options]` in the
 * command list, as the full command would print it.
 */
const listedWithOptions = new WeakSet<Command>();

function listOnly(program: Command, usage: string, description: string, alias?: string, hasOptions = true): void {
  const cmd = program.command(usage).description(description);
  if (alias) cmd.alias(alias);
  if (hasOptions) listedWithOptions.add(cmd);
}

function jobDescription(def: JobDefinition): string {
  return def.description + (def.schedule ? ` [default schedule: ${def.schedule}]` : ' [started by hand]');
}

function adminUsage(spec: AdminCommand): string {
  const first = spec.argument && (spec.argument.required ? `<${spec.argument.name}>` : `[${spec.argument.name}]`);
  const arg = first && (spec.argument?.more ? `${first} ${spec.argument.more}` : first);
  return arg ? `${spec.name} ${arg}` : spec.name;
}

/**
 * The program. With `only`, the name (or alias) of the command about to run, just that command is
 * built in full and the others are listed (listOnly); without it, every command is built.
 */
export function buildProgram(inv: Invocation, setExit: (code: number) => void, only?: { command: string | undefined }): Command {
  const full = (...names: Array<string | undefined>) => !only || (only.command !== undefined && names.includes(only.command));
  const program = new Command('ontime')
    .description('Scheduled management commands for cases and surveys: one run, one honest exit code.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .addOption(new Option('--log-format <format>', 'human lines, or one JSON object per line for log pipelines (default: ONTIME_LOG_FORMAT, else human)').choices(['human', 'json']))
    .hook('preAction', () => {
      const format = program.opts().logFormat as Invocation['logFormat'];
      if (format) inv.logFormat = format;
    })
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
  if (only) {
    const help = new Help();
    program.configureHelp({
      subcommandTerm: (cmd) => {
        const term = help.subcommandTerm(cmd);
        return listedWithOptions.has(cmd) && !cmd.options.length ? term.replace(/^(\S+)/, '$1 [options]') : term;
      },
    });
  }
  // External jobs are started with `ontime run <name>`; only built-in ones are commands of their own.
  for (const def of jobs.filter((j) => !j.external)) {
    if (full(def.name, def.alias)) addJobCommand(program, def, inv, setExit);
    else listOnly(program, def.name, jobDescription(def), def.alias);
  }
  addExternalJobCommands(program, inv, setExit, full);
  for (const spec of adminCommands) {
    if (full(spec.name)) addAdminCommand(program, spec, inv, setExit);
    else listOnly(program, adminUsage(spec), spec.description, undefined, spec.options.length > 0);
  }
  program.hook('preAction', async (_program, command) => {
    if (JOB_LIST_COMMANDS.has(command.name())) await (await import('./external/jobs-file.js')).loadExternalJobs(inv);
  });
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
    hooks: inv?.hooks ?? (await import('./runner/hooks.js')).getProcessHooks(),
  };
  let exitCode: number = ExitCode.ok;
  const program = buildProgram(
    invocation,
    (code) => {
      exitCode = code;
    },
    { command: commandNamed(argv) },
  );
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return ExitCode.ok;
      // Commander has already printed its message; anything it rejects is a usage error, except
      // for the monitoring probe, whose callers (Nagios and the like) read any code above 3 as
      // garbage: for them a command line that cannot be understood is UNKNOWN (3).
      if (argv[0] === 'check') {
        invocation.streams.stdout.write('ONTIME UNKNOWN - cannot check: the command line was not understood (see the error above)\n');
        return 3;
      }
      return ExitCode.usage;
    }
    const message = err instanceof OntimeError ? err.message : `internal error: ${(err as Error)?.message ?? err}`;
    invocation.streams.stderr.write(`error: ${message}\n`);
    return err instanceof OntimeError ? err.exitCode : ExitCode.internal;
  }
}
