/** Pieces the exporters share: the exit-code legend, time limits, quoting. */

/**
 * A platform's hard time limit is the job's own timeout plus this grace, so ontime stops cleanly
 * first (finishing its batch, exit 75) and the platform's kill is only a backstop for a hang.
 */
export const PLATFORM_GRACE_SECONDS = 300;

export function hardLimitSeconds(timeoutSeconds: number): number {
  return timeoutSeconds + PLATFORM_GRACE_SECONDS;
}

export const DEFAULT_SCHEDULE_SOURCE = 'the built-in defaults (the database was not read)';

/** The header line naming where the schedules came from (`ontime schedule` settings or defaults). */
export function scheduleSourceLine(options: { scheduleSource?: string }): string {
  return `Schedules: ${options.scheduleSource ?? DEFAULT_SCHEDULE_SOURCE}.`;
}

/** Exit codes of docs/reference/jobs.md, one per line, for headers and comments. */
export const EXIT_CODE_LINES = [
  '0        done (also: nothing due, another run holds the lock, the job is disabled)',
  '1        done, but some items failed (listed in the log and in `ontime history`)',
  '64       usage error (unknown option, bad value)',
  '69       a required service (SMTP) cannot be reached',
  '70       internal error (a bug; the message says where)',
  '75       temporary failure, safe to retry (database unreachable, time limit reached)',
  '78       configuration error (missing setting, database not migrated: run `ontime migrate`)',
  '130/143  stopped by SIGINT/SIGTERM after finishing the current batch',
];

/** ISO-8601 duration (Task Scheduler): 1200 → PT20M, 3900 → PT1H5M. */
export function isoDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `PT${h ? `${h}H` : ''}${m ? `${m}M` : ''}${s || (!h && !m) ? `${s}S` : ''}`;
}

/** Quote for a POSIX shell only when needed, so common paths stay readable. */
export function shQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Split a command prefix into words, honouring '…' and "…" quoting (for argv-style targets). */
export function splitWords(command: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: '"' | "'" | null = null;
  let inWord = false;
  for (const ch of command) {
    if (quote) {
      if (ch === quote) quote = null;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

export function isUtc(timeZone: string): boolean {
  return ['UTC', 'Etc/UTC', 'Etc/UCT', 'UCT', 'Etc/GMT', 'GMT', 'Zulu', 'Etc/Zulu', 'Universal', 'Etc/Universal'].includes(timeZone);
}
