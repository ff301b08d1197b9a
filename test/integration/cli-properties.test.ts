/**
 * Property tests of the command line (fast-check), in process: for every command, random option
 * names (its own, other commands', made up) with random values (numbers of every size and sign,
 * instants, durations, empty, unicode, option-looking text) never end in 70 (a bug), never print a
 * stack trace (except the one --verbose promises for a service or configuration failure, 69/75/78),
 * and only ever exit with a code of jobs.md (plus check's Nagios 2 and 3).
 *
 * Runs against a migrated SQLite database with every job disabled, so a command line that happens
 * to be valid finishes quickly and touches no data. `work` (a loop until SIGTERM) and `demo` (runs
 * every job as a child process) always get one unknown option, so only their parsing is exercised.
 * ONTIME_TEST_CLI_RUNS sets the number of command lines per command (default 25); the seed is
 * printed, and ONTIME_TEST_CLI_SEED replays a run.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import fc from 'fast-check';
import { runCli } from '../helpers/cli.js';
import { onlyEnable } from '../helpers/runs.js';
import { buildProgram } from '../../src/cli.js';
import { connect } from '../../src/db/connect.js';
import { parseDatabaseUrl } from '../../src/config.js';
import { migrationSource, MIGRATIONS_TABLE } from '../../src/db/migrations/index.js';

const RUNS = Number(process.env.ONTIME_TEST_CLI_RUNS ?? 25);
const SEED = Number(process.env.ONTIME_TEST_CLI_SEED ?? Date.now() % 2_147_483_647);
const JOBS_MD_CODES = new Set([0, 1, 64, 69, 75, 78, 130, 143]);
const NAGIOS = new Set([0, 1, 2, 3]);
/** Commands that must not really run here: they always get one unknown option. */
const PARSE_ONLY = new Set(['work', 'demo']);

const dir = mkdtempSync(join(tmpdir(), 'ontime-cli-prop-'));
const url = `sqlite:${join(dir, 'prop.sqlite3')}`;
const outDir = join(dir, 'export-out');

const silent = { write: () => true, isTTY: false };
const program = buildProgram({ streams: { stdout: silent, stderr: silent }, env: {}, cwd: dir }, () => undefined);
const commands = program.commands.map((c) => ({
  name: c.name(),
  options: c.options.map((o) => o.long ?? o.short ?? '').filter(Boolean),
}));
const everyOption = [...new Set(commands.flatMap((c) => c.options)), '--help', '-h', '--version'];

const value = fc.oneof(
  fc.integer({ min: -1_000_000, max: 1_000_000 }).map(String),
  fc.constantFrom('0', '-1', '1e9', '9007199254740993', 'NaN', 'Infinity', '0x10', '1.5', ' 7 ', ''),
  fc.constantFrom('90s', '15m', '2h', '0s', '-5m', '1000000h', '1y', 'soon'),
  fc.date({ min: new Date('1900-01-01'), max: new Date('2200-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('2026-02-30T00:00:00Z', '2026-11-22', 'now', 'yesterday', 'cleanup-survey-progress', 'crontab', 'k8s', 'systemd', 'schtasks'),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc.constantFrom('--', '-', '--dry-run', '--no-such', '-x'),
);

function argvFor(command: { name: string; options: string[] }) {
  const optionName = fc.oneof(
    { weight: 5, arbitrary: command.options.length ? fc.constantFrom(...command.options) : fc.constant('--json') },
    { weight: 2, arbitrary: fc.constantFrom(...everyOption) },
    { weight: 1, arbitrary: fc.stringMatching(/^--?[a-z-]{1,12}$/) },
  );
  const token = fc.oneof(
    { weight: 3, arbitrary: fc.tuple(optionName, value).map(([o, v]) => (o === '--out' ? [o, outDir] : [o, v])) },
    { weight: 2, arbitrary: optionName.map((o) => [o]) },
    { weight: 1, arbitrary: value.map((v) => [v]) },
  );
  return fc.array(token, { maxLength: 5 }).map((tokens) => {
    const args = [command.name, ...tokens.flat()];
    if (PARSE_ONLY.has(command.name)) args.push('--no-such-option-here');
    return args;
  });
}

before(async () => {
  const knex = await connect(parseDatabaseUrl(url));
  await knex.migrate.latest({ migrationSource, tableName: MIGRATIONS_TABLE });
  await onlyEnable(knex, []);
  await knex.destroy();
});

test(`the seed of this run: ONTIME_TEST_CLI_SEED=${SEED} replays it`, () => {
  assert.ok(Number.isInteger(SEED));
});

for (const command of commands) {
  test(`${command.name}: random options and values never exit 70, never print a stack trace, use only documented codes`, async () => {
    await fc.assert(
      fc.asyncProperty(argvFor(command), async (args) => {
        const r = await runCli(args, { DATABASE_URL: url, EMAIL_BACKEND: 'console' }, { cwd: dir });
        const allowed = command.name === 'check' ? NAGIOS : JOBS_MD_CODES;
        const where = `ontime ${args.map((a) => JSON.stringify(a)).join(' ')} → ${r.code}\n${r.stderr.slice(0, 2000)}`;
        assert.notEqual(r.code, 70, where);
        assert.ok(allowed.has(r.code), `undocumented exit code: ${where}`);
        const askedForDetail = args.includes('--verbose') && [69, 75, 78].includes(r.code);
        if (!askedForDetail) assert.doesNotMatch(r.stdout + r.stderr, /^\s+at .+(:\d+:\d+\)?|\(node:.+\))$/m, `stack trace: ${where}`);
        assert.doesNotMatch(r.stderr, /internal error/, where);
      }),
      { numRuns: RUNS, seed: SEED + command.name.length, endOnFailure: true },
    );
  });
}
