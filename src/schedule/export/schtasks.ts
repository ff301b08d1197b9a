/**
 * registry → one Windows Task Scheduler XML per job, plus the `schtasks /create` lines.
 *
 * Encoding: `schtasks /create /xml` reliably imports UTF-16 (little-endian, with a byte-order
 * mark), which is also what Task Scheduler itself exports; UTF-8 files are refused by some
 * Windows versions. So files written with --out are UTF-16LE with a BOM and say
 * encoding="UTF-16"; the copy printed on stdout (UTF-8 text) says encoding="UTF-8" so that it is
 * honest about its own bytes. Import the --out files.
 */
import { startArgs } from '../../registry.js';
import { parseCron } from '../cron.js';
import { EXIT_CODE_LINES, hardLimitSeconds, isoDuration, isUtc, scheduleSourceLine } from './common.js';
import { ExportError, type ExportJob, type ExportOptions, type ExportResult, type ExportedFile } from './types.js';

export const SCHTASKS_DEFAULTS = { cwd: 'C:\\ontime', logDir: 'C:\\ontime\\logs', folder: 'ontime' };

const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** One CalendarTrigger: when it starts, how it repeats within a day, which days. */
export interface CalendarTriggerSpec {
  hour: number;
  minute: number;
  /** Repeat every this many minutes for the rest of the day (hourly: 60). */
  repeatMinutes?: number;
  days: { kind: 'daily' } | { kind: 'weekly'; daysOfWeek: number[] } | { kind: 'monthly'; daysOfMonth: number[]; months: number[] };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const isAll = (values: number[], from: number, to: number) => values.length === to - from + 1;

/** Evenly spaced values from the first, through the end of the range: the step, else null. */
function evenStep(values: number[], max: number): number | null {
  if (values.length < 2) return null;
  const step = values[1]! - values[0]!;
  const expected = range(0, Math.floor((max - values[0]!) / step)).map((i) => values[0]! + i * step);
  return expected.length === values.length && expected.every((v, i) => v === values[i]) ? step : null;
}

/** Cron → Task Scheduler calendar triggers; ExportError when Task Scheduler cannot say it. */
export function calendarTriggers(job: string, expression: string): CalendarTriggerSpec[] {
  const { fields } = parseCron(expression);
  const fail = (problem: string) => new ExportError(job, expression, 'Task Scheduler', problem);

  let days: CalendarTriggerSpec['days'];
  const allMonths = isAll(fields.months, 1, 12);
  if (!fields.anyDayOfMonth && !fields.anyDayOfWeek) {
    throw fail('it restricts both day-of-month and day-of-week (cron runs on either; a trigger needs one)');
  } else if (!fields.anyDayOfWeek) {
    if (!allMonths) throw fail('it restricts both the month and the day of the week');
    days = { kind: 'weekly', daysOfWeek: fields.daysOfWeek };
  } else if (!fields.anyDayOfMonth || !allMonths) {
    days = { kind: 'monthly', daysOfMonth: fields.daysOfMonth, months: fields.months };
  } else {
    days = { kind: 'daily' };
  }

  const { minutes, hours } = fields;
  // Within a day: a single time, a time repeated at an even interval until midnight, or a few times.
  if (isAll(hours, 0, 23)) {
    if (minutes.length === 1) return [{ hour: 0, minute: minutes[0]!, repeatMinutes: 60, days }];
    const step = evenStep(minutes, 59);
    if (step && 60 % step === 0) return [{ hour: 0, minute: minutes[0]!, repeatMinutes: step, days }];
    throw fail('its minutes are not evenly spaced through the hour');
  }
  if (minutes.length === 1) {
    const step = evenStep(hours, 23);
    if (step && 24 % step === 0) return [{ hour: hours[0]!, minute: minutes[0]!, repeatMinutes: step * 60, days }];
    if (hours.length <= 12) return hours.map((hour) => ({ hour, minute: minutes[0]!, days }));
  }
  if (minutes.length * hours.length <= 12) return hours.flatMap((hour) => minutes.map((minute) => ({ hour, minute, days })));
  throw fail('it fires at too many irregular times of day for a few triggers');
}

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const pad = (n: number) => String(n).padStart(2, '0');

function triggerXml(t: CalendarTriggerSpec, utc: boolean): string[] {
  // A fixed start date in the past; with "Z" the trigger keeps UTC time ("synchronize across
  // time zones"), without it the trigger follows the Windows machine's local time.
  const start = `2025-01-01T${pad(t.hour)}:${pad(t.minute)}:00${utc ? 'Z' : ''}`;
  const lines = ['    <CalendarTrigger>'];
  if (t.repeatMinutes) {
    const remaining = 24 * 60 - (t.hour * 60 + t.minute);
    lines.push(
      '      <Repetition>',
      `        <Interval>${isoDuration(t.repeatMinutes * 60)}</Interval>`,
      `        <Duration>${isoDuration(remaining * 60)}</Duration>`,
      '        <StopAtDurationEnd>false</StopAtDurationEnd>',
      '      </Repetition>',
    );
  }
  lines.push(`      <StartBoundary>${start}</StartBoundary>`, '      <Enabled>true</Enabled>');
  if (t.days.kind === 'daily') {
    lines.push('      <ScheduleByDay>', '        <DaysInterval>1</DaysInterval>', '      </ScheduleByDay>');
  } else if (t.days.kind === 'weekly') {
    lines.push('      <ScheduleByWeek>', '        <DaysOfWeek>');
    for (const d of t.days.daysOfWeek) lines.push(`          <${DAY_NAMES[d]} />`);
    lines.push('        </DaysOfWeek>', '        <WeeksInterval>1</WeeksInterval>', '      </ScheduleByWeek>');
  } else {
    lines.push('      <ScheduleByMonth>', '        <DaysOfMonth>');
    for (const d of t.days.daysOfMonth) lines.push(`          <Day>${d}</Day>`);
    lines.push('        </DaysOfMonth>', '        <Months>');
    for (const m of t.days.months) lines.push(`          <${MONTH_NAMES[m - 1]} />`);
    lines.push('        </Months>', '      </ScheduleByMonth>');
  }
  lines.push('    </CalendarTrigger>');
  return lines;
}

/**
 * npm installs ontime on Windows as `ontime.cmd` (a global install) and runs it from a project
 * directory through `npx.cmd`; it also writes extension-less `ontime`/`npx` shell scripts and
 * `.ps1` files beside them. Naming the .cmd file leaves cmd no choice to get wrong.
 */
export function windowsCommand(command: string): string {
  return command.replace(/^(ontime|npx)(?=\s|$)/i, '$1.cmd');
}

function taskXml(job: ExportJob, options: ExportOptions, encodingLabel: string, cwd: string, logDir: string): string {
  const utc = isUtc(options.timeZone);
  const triggers = calendarTriggers(job.name, job.schedule!);
  const log = `${logDir.replace(/[\\/]+$/, '')}\\${job.name}.log`;
  // cmd /s /c "…": /s strips exactly the outer quotes, so the inner quoted log path survives.
  // cmd's exit code is ontime's, which Task Scheduler shows as the Last Run Result (64 = 0x40).
  const args = `/d /s /c "${windowsCommand(options.command)} ${startArgs(job).join(' ')} >> "${log}" 2>&1"`;
  const description =
    `${job.description}. Schedule (cron): ${job.schedule}` +
    (utc ? ' UTC.' : ` in ${options.timeZone}; this machine's time zone must be ${options.timeZone}.`) +
    ` ${scheduleSourceLine(options)} Generated by ontime export schtasks.`;
  return [
    `<?xml version="1.0" encoding="${encodingLabel}"?>`,
    '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">',
    '  <RegistrationInfo>',
    `    <Description>${xmlEscape(description)}</Description>`,
    `    <URI>\\${SCHTASKS_DEFAULTS.folder}\\${job.name}</URI>`,
    '  </RegistrationInfo>',
    '  <Triggers>',
    ...triggers.flatMap((t) => triggerXml(t, utc)),
    '  </Triggers>',
    '  <Principals>',
    '    <Principal id="Author">',
    '      <RunLevel>LeastPrivilege</RunLevel>',
    '    </Principal>',
    '  </Principals>',
    '  <Settings>',
    // A run still going when the next one is due: let it finish, do not start a second.
    '    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>',
    '    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>',
    '    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>',
    '    <AllowHardTerminate>true</AllowHardTerminate>',
    // Machine was off at the scheduled time: run as soon as it is back (ontime catches up by state).
    '    <StartWhenAvailable>true</StartWhenAvailable>',
    '    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>',
    '    <IdleSettings>',
    '      <StopOnIdleEnd>false</StopOnIdleEnd>',
    '      <RestartOnIdle>false</RestartOnIdle>',
    '    </IdleSettings>',
    '    <AllowStartOnDemand>true</AllowStartOnDemand>',
    '    <Enabled>true</Enabled>',
    '    <Hidden>false</Hidden>',
    '    <RunOnlyIfIdle>false</RunOnlyIfIdle>',
    '    <WakeToRun>false</WakeToRun>',
    // The job's own timeout plus a grace: ontime stops itself first (exit 75), this is the backstop.
    `    <ExecutionTimeLimit>${isoDuration(hardLimitSeconds(job.timeoutSeconds))}</ExecutionTimeLimit>`,
    '    <Priority>7</Priority>',
    '  </Settings>',
    '  <Actions Context="Author">',
    '    <Exec>',
    '      <Command>cmd.exe</Command>',
    `      <Arguments>${xmlEscape(args)}</Arguments>`,
    `      <WorkingDirectory>${xmlEscape(cwd)}</WorkingDirectory>`,
    '    </Exec>',
    '  </Actions>',
    '</Task>',
    '',
  ].join('\r\n');
}

export function exportSchtasks(jobs: readonly ExportJob[], options: ExportOptions): ExportResult {
  const cwd = options.cwd ?? SCHTASKS_DEFAULTS.cwd;
  const logDir = options.logDir ?? SCHTASKS_DEFAULTS.logDir;
  const files: ExportedFile[] = [];
  const install = [
    '@echo off',
    'REM ontime: create one Task Scheduler task per job from the XML files next to this script.',
    'REM Generated by `ontime export schtasks --out DIR`. Run it from an elevated prompt in DIR.',
    `REM ${scheduleSourceLine(options)}`,
    `REM Create ${logDir} first. Tasks run as the account that creates them; add /ru and /rp to`,
    'REM each line to run them as a service account whether or not anyone is logged on.',
    'REM Run one now: schtasks /run /tn "\\ontime\\<job>"   Last result: schtasks /query /tn "\\ontime\\<job>" /v /fo list',
    'REM Exit codes (Last Run Result shows them in hex: 0x1, 0x40 = 64, 0x45 = 69, 0x46 = 70, 0x4B = 75, 0x4E = 78):',
    ...EXIT_CODE_LINES.map((l) => `REM   ${l}`),
  ];
  for (const job of jobs) {
    if (!job.schedule) {
      install.push(`REM ${job.name}: started by hand, not scheduled (${options.command} ${startArgs(job).join(' ')} --help).`);
      continue;
    }
    files.push({
      name: `${job.name}.xml`,
      content: taskXml(job, options, 'UTF-16', cwd, logDir),
      stdoutContent: taskXml(job, options, 'UTF-8', cwd, logDir),
      encoding: 'utf16le-bom',
    });
    install.push(`schtasks /create /tn "\\${SCHTASKS_DEFAULTS.folder}\\${job.name}" /xml "%~dp0${job.name}.xml" /f`);
  }
  files.push({ name: 'install-schtasks.cmd', content: install.join('\r\n') + '\r\n' });
  const ignored = (['envFile', 'image', 'namespace', 'secret', 'randomizedDelaySec'] as const).filter((k) => options[k] !== undefined);
  return { files, ignoredOptions: ignored };
}
