/**
 * The jobs file: the validator against the shipped JSON Schema on the same examples, the
 * loader's 78 naming entry and field, YAML and JSON, and that `--help` never reads the file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readJobsFile } from '../../src/external/jobs-file.js';
import { validateJobsDocument } from '../../src/external/validate.js';
import { builtInJobNames } from '../../src/registry.js';
import { repoRoot, runCli } from '../helpers/cli.js';
import { schemaAccepts } from '../helpers/json-schema.js';

const schema = JSON.parse(readFileSync(join(repoRoot, 'schemas', 'ontime.jobs.schema.json'), 'utf8'));
const job = (fields: Record<string, unknown>) => ({ jobs: [{ name: 'notify-aging-logsheets', command: ['python', 'manage.py', 'notify_aging_logsheets'], timeout: '15m', ...fields }] });

const valid: Array<[string, unknown]> = [
  ['the smallest job', job({})],
  ['every field', job({
    schedule: '0 8 * * 1', cwd: 'app', env: { DJANGO_SETTINGS_MODULE: 'manage2soar.settings', WORKERS: 2 }, exitCodes: { '0': 'succeeded', '1': 'partial', '75': 'retry' },
    killAfter: '40s', description: 'Remind instructors of aging logsheets', shell: false,
  })],
  ['a shell string with shell: true', job({ command: 'python manage.py clearsessions && echo done', shell: true })],
  ['a null schedule (by hand)', job({ schedule: null })],
  ['a timeout in seconds', job({ timeout: 90 })],
  ['no jobs at all', { jobs: [] }],
];

const invalid: Array<[string, unknown, RegExp]> = [
  ['no jobs list', {}, /^jobs$/],
  ['a name that is not kebab-case', job({ name: 'Notify_Aging' }), /jobs\[0\] \(Notify_Aging\)\.name/],
  ['a string command without shell', job({ command: 'python manage.py x' }), /jobs\[0\] \(notify-aging-logsheets\)\.command/],
  ['an empty command', job({ command: [] }), /\.command$/],
  ['a command word that is not a string', job({ command: ['python', 3] }), /\.command\[1\]/],
  ['no timeout', { jobs: [{ name: 'a', command: ['true'] }] }, /jobs\[0\] \(a\)\.timeout/],
  ['a timeout with a unit of its own', job({ timeout: '15 minutes' }), /\.timeout$/],
  ['a schedule with six fields', job({ schedule: '0 0 8 * * 1' }), /\.schedule$/],
  ['an unknown field', job({ retries: 3 }), /\.retries$/],
  ['an exit code mapped to a word of its own', job({ exitCodes: { '2': 'warning' } }), /\.exitCodes\.2$/],
  ['an exit code that is not one', job({ exitCodes: { '256': 'partial' } }), /\.exitCodes\.256$/],
  ['an env value that is a list', job({ env: { A: ['x'] } }), /\.env\.A$/],
  ['an env name with a dash', job({ env: { 'MY-VAR': 'x' } }), /\.env\.MY-VAR$/],
  ['a job that is not a mapping', { jobs: ['python manage.py x'] }, /^jobs\[0\]$/],
];

/** What the schema cannot say: cron semantics, durations under a second, clashes with other names. */
const onlyTheValidatorRefuses: Array<[string, unknown, RegExp]> = [
  ['a minute that does not exist', job({ schedule: '61 * * * *' }), /\.schedule$/],
  ['a duration under a second', job({ timeout: '0s' }), /\.timeout$/],
  ['the name of a built-in job', job({ name: 'cleanup-survey-progress' }), /\.name$/],
  ['two jobs of one name', { jobs: [job({}).jobs[0], job({}).jobs[0]] }, /jobs\[1\] \(notify-aging-logsheets\)\.name/],
];

test('the validator and the JSON Schema accept the same valid files', () => {
  for (const [what, doc] of valid) {
    const { problems } = validateJobsDocument(doc, builtInJobNames());
    assert.deepEqual(problems, [], `validator: ${what}`);
    assert.equal(schemaAccepts(schema, doc), true, `schema: ${what}`);
  }
});

test('the validator and the JSON Schema refuse the same invalid files; the validator names entry and field', () => {
  for (const [what, doc, where] of invalid) {
    const { problems } = validateJobsDocument(doc, builtInJobNames());
    assert.ok(problems.some((p) => where.test(p.where)), `validator: ${what}: ${JSON.stringify(problems)}`);
    assert.equal(schemaAccepts(schema, doc), false, `schema: ${what}`);
  }
  for (const [what, doc, where] of onlyTheValidatorRefuses) {
    const { problems } = validateJobsDocument(doc, builtInJobNames());
    assert.ok(problems.some((p) => where.test(p.where)), `validator: ${what}: ${JSON.stringify(problems)}`);
  }
});

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ontime-jobs-file-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('YAML and JSON files read the same; a relative cwd is read from the file\'s directory', async () => {
  const yamlDir = dirWith({
    'ontime.jobs.yaml': 'jobs:\n  - name: report-duty-delinquents\n    command: [python, manage.py, report_duty_delinquents]\n    schedule: "0 9 1 * *"\n    timeout: 30m\n    cwd: app\n    exitCodes: { 0: succeeded, 3: partial }\n',
  });
  const [fromYaml] = await readJobsFile(join(yamlDir, 'ontime.jobs.yaml'));
  const jsonDir = dirWith({ 'ontime.jobs.json': JSON.stringify(job({ schedule: '0 9 1 * *', cwd: 'app', exitCodes: { 0: 'succeeded', 3: 'partial' } })) });
  const [fromJson] = await readJobsFile(join(jsonDir, 'ontime.jobs.json'));
  assert.equal(fromYaml!.cwd, join(yamlDir, 'app'));
  assert.equal(fromJson!.cwd, join(jsonDir, 'app'));
  assert.deepEqual(fromYaml!.exitCodes, { '0': 'succeeded', '3': 'partial' });
  assert.deepEqual(fromJson!.exitCodes, fromYaml!.exitCodes);
  assert.equal(fromYaml!.timeoutMs, 30 * 60_000);
  assert.equal(fromYaml!.killAfterMs, 25_000);
});

test('an invalid jobs file is exit 78 naming the entry and field; --help does not read it', async () => {
  const dir = dirWith({ 'ontime.jobs.yaml': 'jobs:\n  - name: ok-job\n    command: [true]\n    timeout: 1m\n  - name: broken\n    command: [true]\n    timeout: 1m\n    schedule: "0 25 * * *"\n' });
  for (const args of [['run', 'ok-job'], ['jobs'], ['export', 'crontab'], ['run-due', '--dry-run']]) {
    const r = await runCli(args, {}, { cwd: dir });
    assert.equal(r.code, 78, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /jobs\[1\] \(broken\)\.schedule/);
  }
  const help = await runCli(['--help'], {}, { cwd: dir });
  assert.equal(help.code, 0);
  const viaEnv = await runCli(['jobs'], { ONTIME_JOBS_FILE: 'missing.yaml' }, { cwd: dir });
  assert.equal(viaEnv.code, 78);
  assert.match(viaEnv.stderr, /ONTIME_JOBS_FILE names .*missing\.yaml/);
  const badYaml = dirWith({ 'ontime.jobs.yaml': 'jobs:\n  - name: [unclosed\n' });
  assert.equal((await runCli(['jobs'], {}, { cwd: badYaml })).code, 78);
});

test('exec refuses a bad name or schedule as a usage error (64) before connecting', async () => {
  const bad = await runCli(['exec', '--name', 'Nightly_Report', '--', 'true'], {});
  assert.equal(bad.code, 64, bad.stderr);
  assert.match(bad.stderr, /--name/);
  const builtIn = await runCli(['exec', '--name', 'cleanup-survey-progress', '--', 'true'], {});
  assert.equal(builtIn.code, 64);
  const schedule = await runCli(['exec', '--name', 'nightly', '--schedule', '0 0 0 * * *', '--', 'true'], {});
  assert.equal(schedule.code, 64);
  assert.match(schedule.stderr, /--schedule/);
});

test('every export carries the jobs of the file, started as `ontime run <name>`', async () => {
  const dir = dirWith({
    'ontime.jobs.json': JSON.stringify({
      jobs: [
        { name: 'notify-late-sprs', command: ['python', 'manage.py', 'notify_late_sprs'], schedule: '0 6 * * *', timeout: '10m', description: 'Late SPR reminders' },
        { name: 'rebuild-stats', command: ['python', 'manage.py', 'rebuild_stats'], timeout: '1h' },
      ],
    }),
  });
  const crontab = await runCli(['export', 'crontab', '--command', 'ontime'], {}, { cwd: dir });
  assert.equal(crontab.code, 0, crontab.stderr);
  assert.match(crontab.stdout, /^0 6 \* \* \* cd \/opt\/ontime && exec ontime run notify-late-sprs >> \/var\/log\/ontime\/notify-late-sprs\.log 2>&1$/m);
  assert.match(crontab.stdout, /# rebuild-stats: runs python manage.py rebuild_stats\. Started by hand/);
  assert.match(crontab.stdout, /^0 3 \* \* \* .*exec ontime cleanup-survey-progress /m, 'the built-in jobs are still there');
  const k8s = await runCli(['export', 'k8s'], {}, { cwd: dir });
  assert.equal(k8s.code, 0, k8s.stderr);
  assert.match(k8s.stdout, /name: "ontime-notify-late-sprs"/);
  assert.match(k8s.stdout, /args:\n\s+- "run"\n\s+- "notify-late-sprs"/);
  const systemd = await runCli(['export', 'systemd', '--command', 'ontime'], {}, { cwd: dir });
  assert.match(systemd.stdout, /ExecStart=ontime run notify-late-sprs\n.*\nKillSignal=SIGTERM\nKillMode=mixed\n/);
  assert.doesNotMatch(systemd.stdout, /ExecStart=ontime cleanup-survey-progress\n.*\nKillSignal=SIGTERM\nKillMode/);
  const schtasks = await runCli(['export', 'schtasks', '--command', 'ontime'], {}, { cwd: dir });
  assert.match(schtasks.stdout, /ontime\.cmd run notify-late-sprs &gt;&gt;/);
});
