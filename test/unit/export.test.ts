/** `ontime export`: crontab, schtasks, k8s and systemd from the registry. No database needed. */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { parseAllDocuments } from 'yaml';
import { jobs } from '../../src/registry.js';
import { slotsBetween } from '../../src/schedule/cron.js';
import { hardLimitSeconds, isoDuration } from '../../src/schedule/export/common.js';
import { cronJobName } from '../../src/schedule/export/k8s.js';
import { calendarTriggers } from '../../src/schedule/export/schtasks.js';
import { onCalendar } from '../../src/schedule/export/systemd.js';
import { ExportError } from '../../src/schedule/export/types.js';
import { binPath, repoRoot, runCli } from '../helpers/cli.js';

const scheduled = jobs.filter((j) => j.schedule);
const tempDir = () => mkdtempSync(join(tmpdir(), 'ontime-export-'));

describe('export crontab', () => {
  test('crontab.example is exactly `ontime export crontab --command ontime --defaults`', async () => {
    const { code, stdout } = await runCli(['export', 'crontab', '--command', 'ontime', '--defaults'], {});
    assert.equal(code, 0);
    const committed = readFileSync(join(repoRoot, 'crontab.example'), 'utf8');
    assert.ok(
      committed === stdout,
      'crontab.example is stale: regenerate it with `npm run build && ONTIME_TIMEZONE= node bin/ontime export crontab --command ontime --defaults > crontab.example`',
    );
  });

  test('one line per scheduled job with cd, command and log redirection; unscheduled jobs only as comments', async () => {
    const { stdout } = await runCli(['export', 'crontab', '--cwd', '/srv/app', '--log-dir', '/var/log/x', '--command', 'docker compose exec -T web ontime'], {});
    const lines = stdout.split('\n').filter((l) => l && !l.startsWith('#') && !l.includes('='));
    assert.equal(lines.length, scheduled.length);
    for (const job of scheduled) {
      assert.ok(
        lines.includes(`${job.schedule} cd /srv/app && exec docker compose exec -T web ontime ${job.name} >> /var/log/x/${job.name}.log 2>&1`),
        `no crontab line for ${job.name}`,
      );
    }
    assert.match(stdout, /^# bulk-update-case-status: .*Started by hand/m);
    assert.match(stdout, /^# Fields: minute hour day-of-month month day-of-week/m);
    assert.match(stdout, /^#\s+75\s+temporary failure/m);
  });

  test('the time zone is stated and set; % is escaped; an env file is sourced', async () => {
    const { stdout } = await runCli(['export', 'crontab', '--command', 'npx ontime --x=%s', '--env-file', '/etc/ontime.env'], { ONTIME_TIMEZONE: 'Europe/London' });
    assert.match(stdout, /^CRON_TZ=Europe\/London$/m);
    assert.match(stdout, /Times are in Europe\/London/);
    assert.match(stdout, /set -a && \. \/etc\/ontime\.env && set \+a && exec npx ontime --x=\\%s release-scheduled-cases/);
  });

  test('--out writes the crontab as one file', async () => {
    const dir = tempDir();
    const { code, stderr } = await runCli(['export', 'crontab', '--out', dir], {});
    assert.equal(code, 0);
    assert.deepEqual(readdirSync(dir), ['ontime.crontab']);
    assert.match(stderr, /wrote .*ontime\.crontab/);
  });
});

describe('export: command behaviour', () => {
  test('an unknown platform exits 64 and lists the platforms', async () => {
    const { code, stderr } = await runCli(['export', 'launchd'], {});
    assert.equal(code, 64);
    assert.match(stderr, /unknown platform "launchd"; choose one of: crontab, schtasks, k8s, systemd/);
  });

  test('options that a platform does not use are named in a warning', async () => {
    const { code, stderr } = await runCli(['export', 'crontab', '--image', 'x/y:1'], {});
    assert.equal(code, 0);
    assert.match(stderr, /warning: --image has no effect on crontab/);
  });

  test('a bad --randomized-delay exits 64; a bad ONTIME_TIMEZONE exits 78', async () => {
    assert.equal((await runCli(['export', 'systemd', '--randomized-delay', 'soon'], {})).code, 64);
    const bad = await runCli(['export', 'systemd'], { ONTIME_TIMEZONE: 'Mars/Olympus' });
    assert.equal(bad.code, 78);
    assert.match(bad.stderr, /Mars\/Olympus/);
  });

  test('export works with a broken DATABASE_URL and never loads knex or a driver', () => {
    const script = `
      import { createRequire } from 'node:module';
      const require = createRequire(import.meta.url);
      const { main } = await import('./dist/cli.js');
      const sink = { write() { return true; } };
      const code = await main(process.argv.slice(1), { streams: { stdout: sink, stderr: sink }, env: { PATH: process.env.PATH, DATABASE_URL: 'nonsense' }, cwd: ${JSON.stringify(tmpdir())} });
      const loaded = Object.keys(require.cache).filter((k) => /[\\\\/]node_modules[\\\\/](knex|pg|mysql2|better-sqlite3)[\\\\/]/.test(k));
      console.log(JSON.stringify({ code, loaded }));`;
    for (const platform of ['crontab', 'schtasks', 'k8s', 'systemd']) {
      const result = spawnSync(process.execPath, ['--input-type=module', '-e', script, 'export', platform], { cwd: repoRoot, encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout.trim()), { code: 0, loaded: [] }, `export ${platform}`);
    }
  });
});

describe('export schtasks', () => {
  const parser = new XMLParser({ ignoreAttributes: false, parseTagValue: false });

  test('one UTF-16 Task Scheduler XML per scheduled job, well-formed, with the expected settings', async () => {
    const dir = tempDir();
    const { code } = await runCli(['export', 'schtasks', '--out', dir, '--cwd', 'D:\\apps\\ontime', '--log-dir', 'D:\\logs'], {});
    assert.equal(code, 0);
    assert.deepEqual(readdirSync(dir).sort(), [...scheduled.map((j) => `${j.name}.xml`), 'install-schtasks.cmd'].sort());
    for (const job of scheduled) {
      const bytes = readFileSync(join(dir, `${job.name}.xml`));
      assert.deepEqual([...bytes.subarray(0, 2)], [0xff, 0xfe], `${job.name}.xml starts with a UTF-16LE byte-order mark`);
      const xml = bytes.subarray(2).toString('utf16le');
      assert.match(xml, /^<\?xml version="1.0" encoding="UTF-16"\?>/);
      assert.equal(XMLValidator.validate(xml), true, `${job.name}.xml is well-formed`);
      const task = parser.parse(xml).Task;
      assert.equal(task['@_xmlns'], 'http://schemas.microsoft.com/windows/2004/02/mit/task');
      assert.equal(task.Settings.MultipleInstancesPolicy, 'IgnoreNew');
      assert.equal(task.Settings.StartWhenAvailable, 'true');
      assert.equal(task.Settings.ExecutionTimeLimit, isoDuration(hardLimitSeconds(job.timeoutSeconds)));
      assert.equal(task.Actions.Exec.WorkingDirectory, 'D:\\apps\\ontime');
      assert.equal(task.Actions.Exec.Arguments, `/d /s /c "ontime.cmd ${job.name} >> "D:\\logs\\${job.name}.log" 2>&1"`);
    }
  });

  test('triggers match the cron schedules: hourly at :mm, daily at hh:mm, weekly on the day', async () => {
    const { stdout } = await runCli(['export', 'schtasks'], {});
    const docs = stdout.split(/^(?:<!-- |REM )===== .* =====(?: -->)?$/m).filter((d) => d.trim().startsWith('<?xml'));
    assert.equal(docs.length, scheduled.length);
    const byUri = new Map(
      docs.map((d) => {
        assert.equal(XMLValidator.validate(d.trim()), true);
        const task = parser.parse(d).Task;
        return [task.RegistrationInfo.URI, task.Triggers.CalendarTrigger];
      }),
    );
    const hourly = byUri.get('\\ontime\\send-scheduled-emails');
    assert.equal(hourly.StartBoundary, '2025-01-01T00:05:00Z');
    assert.equal(hourly.Repetition.Interval, 'PT1H');
    assert.equal(hourly.ScheduleByDay.DaysInterval, '1');
    const daily = byUri.get('\\ontime\\process-data-governance');
    assert.equal(daily.StartBoundary, '2025-01-01T02:00:00Z');
    assert.equal(daily.Repetition, undefined);
    assert.equal(daily.ScheduleByDay.DaysInterval, '1');
    const monday = byUri.get('\\ontime\\weekly-pending-payment-update');
    assert.equal(monday.StartBoundary, '2025-01-01T08:00:00Z');
    assert.deepEqual(Object.keys(monday.ScheduleByWeek.DaysOfWeek), ['Monday']);
    assert.deepEqual(Object.keys(byUri.get('\\ontime\\weekly-paid-update').ScheduleByWeek.DaysOfWeek), ['Thursday']);
    assert.match(stdout, /^schtasks \/create \/tn "\\ontime\\weekly-paid-update" \/xml "%~dp0weekly-paid-update\.xml" \/f\r?$/m);
  });

  test('outside UTC the start boundary has no zone, and the description says which zone the machine needs', async () => {
    const { stdout } = await runCli(['export', 'schtasks'], { ONTIME_TIMEZONE: 'Europe/London' });
    assert.match(stdout, /<StartBoundary>2025-01-01T02:00:00<\/StartBoundary>/);
    assert.match(stdout, /this machine's time zone must be Europe\/London/);
  });

  test('a schedule Task Scheduler cannot express is refused, naming the job and the expression', () => {
    for (const expr of ['*/7 * * * *', '0 8 1 * 1', '0 8 * 6 1']) {
      assert.throws(
        () => calendarTriggers('some-job', expr),
        (e: unknown) => e instanceof ExportError && e.message.includes('some-job') && e.message.includes(`"${expr}"`),
      );
    }
    assert.deepEqual(calendarTriggers('j', '*/15 * * * *'), [{ hour: 0, minute: 0, repeatMinutes: 15, days: { kind: 'daily' } }]);
    assert.equal(calendarTriggers('j', '30 8,17 * * 1-5').length, 2);
    assert.deepEqual(calendarTriggers('j', '0 5 1 * *')[0]!.days, { kind: 'monthly', daysOfMonth: [1], months: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] });
  });
});

describe('export k8s', () => {
  const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

  test('CronJob manifests parse as YAML and carry the schema fields with the right types', async () => {
    const { code, stdout } = await runCli(['export', 'k8s', '--image', 'ghcr.io/acme/ontime:1.2.3', '--namespace', 'cases', '--secret', 'ontime-secrets'], {});
    assert.equal(code, 0);
    const docs = parseAllDocuments(stdout).filter((d) => d.contents !== null);
    for (const d of docs) assert.deepEqual(d.errors, []);
    const manifests = docs.map((d) => d.toJS());
    assert.equal(manifests.length, scheduled.length);
    for (const [i, m] of manifests.entries()) {
      const job = scheduled[i]!;
      assert.equal(m.apiVersion, 'batch/v1');
      assert.equal(m.kind, 'CronJob');
      assert.equal(typeof m.metadata.name, 'string');
      assert.ok(m.metadata.name.length <= 52 && DNS1123.test(m.metadata.name), `bad name ${m.metadata.name}`);
      assert.equal(m.metadata.namespace, 'cases');
      assert.equal(m.spec.schedule, job.schedule);
      assert.equal(m.spec.timeZone, 'UTC');
      assert.equal(m.spec.concurrencyPolicy, 'Forbid');
      assert.ok(Number.isInteger(m.spec.startingDeadlineSeconds) && m.spec.startingDeadlineSeconds > 0);
      assert.ok(Number.isInteger(m.spec.successfulJobsHistoryLimit) && Number.isInteger(m.spec.failedJobsHistoryLimit));
      const jobSpec = m.spec.jobTemplate.spec;
      assert.equal(jobSpec.activeDeadlineSeconds, hardLimitSeconds(job.timeoutSeconds));
      assert.ok(Number.isInteger(jobSpec.backoffLimit));
      const pod = jobSpec.template.spec;
      assert.ok(['Never', 'OnFailure'].includes(pod.restartPolicy));
      // podFailurePolicy is only allowed with restartPolicy Never.
      if (jobSpec.podFailurePolicy) assert.equal(pod.restartPolicy, 'Never');
      const c = pod.containers[0];
      assert.equal(typeof c.name, 'string');
      assert.ok(c.name.length <= 63 && DNS1123.test(c.name));
      assert.equal(c.image, 'ghcr.io/acme/ontime:1.2.3');
      assert.deepEqual([...c.command, ...c.args], ['ontime', job.name]);
      assert.deepEqual(c.envFrom, [{ secretRef: { name: 'ontime-secrets' } }]);
      assert.equal(typeof c.resources.requests.cpu, 'string');
      assert.equal(typeof c.resources.requests.memory, 'string');
      assert.equal(jobSpec.podFailurePolicy.rules[0].onExitCodes.containerName, c.name);
    }
    // Hourly jobs may start up to an hour late; daily and weekly ones up to a day.
    assert.equal(manifests[0].spec.startingDeadlineSeconds, 3600);
    assert.equal(manifests.find((m) => m.spec.schedule === '0 8 * * 1').spec.startingDeadlineSeconds, 86_400);
  });

  test('names longer than 52 characters are shortened to a valid name', () => {
    const name = cronJobName('a-very-long-job-name-that-goes-on-and-on-and-on-forever');
    assert.ok(name.length <= 52 && /^[a-z0-9-]+[a-z0-9]$/.test(name), name);
  });

  test('--out writes one manifest per job', async () => {
    const dir = tempDir();
    await runCli(['export', 'k8s', '--out', dir], {});
    assert.deepEqual(readdirSync(dir).sort(), scheduled.map((j) => `ontime-${j.name}.yaml`).sort());
  });
});

describe('export systemd', () => {
  const KNOWN: Record<string, string> = {
    '0 * * * *': '*-*-* *:00:00 UTC',
    '5 * * * *': '*-*-* *:05:00 UTC',
    '0 8 * * 1': 'Mon *-*-* 08:00:00 UTC',
    '0 8 * * 4': 'Thu *-*-* 08:00:00 UTC',
    '0 2 * * *': '*-*-* 02:00:00 UTC',
    '0 3 * * *': '*-*-* 03:00:00 UTC',
    '30 4 * * *': '*-*-* 04:30:00 UTC',
    '15 1 * * *': '*-*-* 01:15:00 UTC',
    '0 7 * * 1': 'Mon *-*-* 07:00:00 UTC',
  };

  test('OnCalendar for each default schedule', () => {
    for (const job of scheduled) assert.deepEqual(onCalendar(job.schedule!, 'UTC'), [KNOWN[job.schedule!]], job.name);
  });

  test('other forms: steps, lists, weekday ranges, a zone, and cron\'s day-of-month OR day-of-week', () => {
    assert.deepEqual(onCalendar('*/15 * * * *', 'UTC'), ['*-*-* *:00/15:00 UTC']);
    assert.deepEqual(onCalendar('30 8,17 * * 1-5', 'UTC'), ['Mon..Fri *-*-* 08,17:30:00 UTC']);
    assert.deepEqual(onCalendar('0 2 * * *', 'Europe/London'), ['*-*-* 02:00:00 Europe/London']);
    assert.deepEqual(onCalendar('0 8 1 * 1', 'UTC'), ['*-*-01 08:00:00 UTC', 'Mon *-*-* 08:00:00 UTC']);
  });

  const analyze = spawnSync('which', ['systemd-analyze'], { encoding: 'utf8' }).stdout.trim();
  test(`systemd-analyze accepts every OnCalendar and agrees on the next runs${analyze ? '' : ' (systemd-analyze not installed: compared with known-good strings above)'}`, () => {
    if (!analyze) return;
    const base = new Date('2026-03-27T12:00:00Z');
    const cases: Array<[string, string]> = [
      ...scheduled.map((j) => [j.schedule!, 'UTC'] as [string, string]),
      ['*/15 * * * *', 'UTC'],
      ['30 8,17 * * 1-5', 'UTC'],
      ['0 3 * * *', 'America/New_York'],
    ];
    for (const [expr, zone] of cases) {
      const [calendar] = onCalendar(expr, zone);
      const out = execFileSync(analyze, ['calendar', '--iterations=5', '--base-time=2026-03-27 12:00:00 UTC', calendar!], {
        encoding: 'utf8',
        env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' },
      });
      assert.match(out, new RegExp(`Normalized form: ${calendar!.replace(/[*.]/g, (c) => `\\${c}`)}`), `${expr}: ${out}`);
      const elapses = [...out.matchAll(/(?:Next elapse|Iter\. #\d+): \w{3} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC/g)].map((m) => `${m[1]!.replace(' ', 'T')}.000Z`);
      const ours = slotsBetween(expr, base, new Date(base.getTime() + 60 * 86_400_000), zone, 5).map((d) => d.toISOString());
      assert.deepEqual(elapses, ours, `${expr} in ${zone}`);
    }
  });

  test('a .service (oneshot) and a .timer (Persistent, RandomizedDelaySec) per job', async () => {
    const dir = tempDir();
    const { code } = await runCli(['export', 'systemd', '--out', dir, '--randomized-delay', '5m', '--env-file', '/etc/ontime/ontime.env'], {});
    assert.equal(code, 0);
    for (const job of scheduled) {
      const service = readFileSync(join(dir, `ontime-${job.name}.service`), 'utf8');
      const timer = readFileSync(join(dir, `ontime-${job.name}.timer`), 'utf8');
      assert.match(service, /^Type=oneshot$/m);
      assert.ok(service.split('\n').includes(`ExecStart=${process.execPath} ${binPath} ${job.name}`), service);
      assert.match(service, /^EnvironmentFile=\/etc\/ontime\/ontime\.env$/m);
      assert.match(service, new RegExp(`^TimeoutStartSec=${hardLimitSeconds(job.timeoutSeconds)}$`, 'm'));
      assert.match(timer, new RegExp(`^OnCalendar=${KNOWN[job.schedule!]!.replace(/[*.]/g, (c) => `\\${c}`)}$`, 'm'));
      assert.match(timer, /^Persistent=true$/m);
      assert.match(timer, /^RandomizedDelaySec=300$/m);
      assert.match(timer, new RegExp(`^Unit=ontime-${job.name}\\.service$`, 'm'));
    }
  });
});
