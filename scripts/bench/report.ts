/** The results' shape, the targets of issue 7, and the one printed table. */

export type JobStatus = 'ok' | 'not implemented' | 'failed';

export interface JobMeasurement {
  job: string;
  unit: string;
  status: JobStatus;
  exitCode: number | null;
  /** Why it is not ok, in the job's own words. */
  error?: string;
  /** Items due before the run, and left after it. */
  due: number;
  left: number | null;
  wallMs: number;
  /** The run as the job measured it (connect → close), from its --json object. */
  jobDurationMs: number | null;
  itemsPerSecond: number | null;
  peakRssBytes: number | null;
  longestBatchMs: number | null;
  summary?: unknown;
  /** audit_log rows the run wrote (cleanup writes one per batch, the others one per item). */
  auditRows?: number;
  raw?: { items: number; ms: number; itemsPerSecond: number; auditRows: number };
  /** raw time / ontime wall time: ontime's throughput as a fraction of the raw statements'. */
  throughputRatio: number | null;
  /** The same against the job's own duration (process start-up and module loading left out). */
  throughputRatioInProcess: number | null;
}

export interface FlatnessMeasurement {
  job: string;
  smallRows: number;
  largeRows: number;
  smallPeakRssBytes: number | null;
  largePeakRssBytes: number | null;
  ratio: number | null;
  status: JobStatus;
}

export interface MailMeasurement {
  status: JobStatus | 'not available';
  error?: string;
  due: number;
  sent: number;
  smtpReceived: number;
  wallMs: number | null;
  messagesPerSecond: number | null;
  peakRssBytes: number | null;
  /** SMTP connections of the run: `4 (default)` unless ONTIME_SMTP_CONNECTIONS was passed through. */
  connections?: string;
  /** 1-minute load average when the run ended: the machine is shared. */
  loadAverage?: number;
}

export interface DatabaseResult {
  name: string;
  version?: string;
  available: boolean;
  unavailableReason?: string;
  seedMs?: number;
  seedRows?: number;
  jobs: JobMeasurement[];
  flatness: FlatnessMeasurement[];
  mail?: MailMeasurement;
  totalMs?: number;
}

export interface StartupResult {
  runs: number;
  nodeMedianMs: number;
  helpMedianMs: number;
  helpRatio: number;
  idleJobMedianMs: number;
  idleJob: string;
}

export interface TargetCheck {
  figure: string;
  bar: string;
  goal: string;
  measured: string;
  verdict: 'goal' | 'bar' | 'missed' | 'n/a';
  note?: string;
}

const mb = (b: number | null | undefined) => (b === null || b === undefined ? '–' : `${(b / 1048576).toFixed(0)}`);
const sec = (ms: number | null | undefined) => (ms === null || ms === undefined ? '–' : (ms / 1000).toFixed(2));
const num = (n: number | null | undefined, digits = 0) =>
  n === null || n === undefined || !Number.isFinite(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function table(headers: string[], rows: string[][], rightAlign: boolean[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (rightAlign[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function renderTable(dbs: DatabaseResult[], startup: StartupResult | null, targets: TargetCheck[]): string {
  const rows: string[][] = [];
  for (const db of dbs) {
    if (!db.available) {
      rows.push([db.name, `(not available: ${db.unavailableReason ?? 'unknown'})`, '', '', '', '', '', '', '', '']);
      continue;
    }
    for (const j of db.jobs) {
      const ok = j.status === 'ok';
      rows.push([
        db.name,
        j.job,
        j.status === 'ok' ? (j.left ? `ok, ${j.left} left!` : 'ok') : j.status,
        num(j.due),
        ok ? sec(j.wallMs) : '–',
        ok ? num(j.itemsPerSecond) : '–',
        j.raw ? sec(j.raw.ms) : '–',
        ok && j.throughputRatio !== null ? j.throughputRatio.toFixed(2) : '–',
        ok ? mb(j.peakRssBytes) : '–',
        ok ? (j.longestBatchMs === null ? 'not tracked' : num(j.longestBatchMs, 1)) : '–',
      ]);
    }
    if (db.mail) {
      const m = db.mail;
      rows.push([
        db.name,
        `send-scheduled-emails (SMTP, ${m.connections ?? '?'} conn.)`,
        m.status,
        num(m.due),
        m.status === 'ok' ? sec(m.wallMs) : '–',
        m.status === 'ok' ? `${num(m.messagesPerSecond)} msg/s` : '–',
        '',
        '',
        m.status === 'ok' ? mb(m.peakRssBytes) : '–',
        '',
      ]);
    }
  }
  const parts = [
    table(
      ['db', 'job', 'status', 'items', 'ontime s', 'items/s', 'raw s', 'raw/ontime', 'peak MB', 'longest batch ms'],
      rows,
      [false, false, false, true, true, true, true, true, true, true],
    ),
  ];
  const flat: string[][] = [];
  for (const db of dbs) {
    for (const f of db.flatness) {
      flat.push([db.name, f.job, f.status, num(f.smallRows), mb(f.smallPeakRssBytes), num(f.largeRows), mb(f.largePeakRssBytes), f.ratio === null ? '–' : f.ratio.toFixed(2)]);
    }
  }
  if (flat.length) {
    parts.push('', 'Memory flatness (peak RSS, MB)');
    parts.push(table(['db', 'job', 'status', 'small rows', 'small MB', 'large rows', 'large MB', 'large/small'], flat, [false, false, false, true, true, true, true, true]));
  }
  if (startup) {
    parts.push(
      '',
      `Start-up (median of ${startup.runs}): node -e 0 ${startup.nodeMedianMs.toFixed(0)} ms, ontime --help ${startup.helpMedianMs.toFixed(0)} ms ` +
        `(ratio ${startup.helpRatio.toFixed(2)}), ${startup.idleJob} with nothing to do on SQLite ${startup.idleJobMedianMs.toFixed(0)} ms`,
    );
  }
  if (targets.length) {
    parts.push('', 'Targets');
    parts.push(table(['figure', 'bar', 'goal', 'measured', 'verdict'], targets.map((t) => [t.figure, t.bar, t.goal, t.measured, t.verdict + (t.note ? ` (${t.note})` : '')]), [false, false, false, false, false]));
  }
  return parts.join('\n');
}

function verdict(value: number, bar: number, goal: number, higherIsBetter: boolean): TargetCheck['verdict'] {
  const meets = (limit: number) => (higherIsBetter ? value >= limit : value <= limit);
  return meets(goal) ? 'goal' : meets(bar) ? 'bar' : 'missed';
}

/** The targets table, checked against what was measured (worst case across databases). */
export function checkTargets(dbs: DatabaseResult[], startup: StartupResult | null, scale: number): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const scaled = scale === 1 ? undefined : `measured at --scale ${scale}`;
  const ratios = dbs
    .filter((d) => d.available && (d.name === 'postgres' || d.name === 'mysql'))
    .flatMap((d) => d.jobs.filter((j) => j.status === 'ok' && j.throughputRatio !== null).map((j) => ({ db: d.name, job: j.job, r: j.throughputRatio! })));
  if (ratios.length) {
    const worst = ratios.reduce((a, b) => (b.r < a.r ? b : a));
    checks.push({ figure: 'batch throughput / raw SQL (PostgreSQL, MariaDB)', bar: '≥ 0.5', goal: '≥ 0.8', measured: `${worst.r.toFixed(2)} worst (${worst.db} ${worst.job})`, verdict: verdict(worst.r, 0.5, 0.8, true), note: scaled });
  } else {
    checks.push({ figure: 'batch throughput / raw SQL (PostgreSQL, MariaDB)', bar: '≥ 0.5', goal: '≥ 0.8', measured: 'no job measured', verdict: 'n/a' });
  }
  const batches = dbs.flatMap((d) => d.jobs.filter((j) => j.status === 'ok' && j.longestBatchMs !== null).map((j) => ({ db: d.name, job: j.job, ms: j.longestBatchMs! })));
  if (batches.length) {
    const worst = batches.reduce((a, b) => (b.ms > a.ms ? b : a));
    const untracked = [...new Set(dbs.flatMap((d) => d.jobs.filter((j) => j.status === 'ok' && j.longestBatchMs === null).map((j) => j.job)))];
    checks.push({
      figure: 'longest batch transaction, batch size 1000',
      bar: '≤ 1 s',
      goal: '≤ 0.2 s',
      measured: `${(worst.ms / 1000).toFixed(3)} s (${worst.db} ${worst.job})`,
      verdict: verdict(worst.ms, 1000, 200, false),
      note: untracked.length ? `not tracked: ${untracked.join(', ')}` : undefined,
    });
  } else {
    checks.push({ figure: 'longest batch transaction, batch size 1000', bar: '≤ 1 s', goal: '≤ 0.2 s', measured: 'no job measured', verdict: 'n/a' });
  }
  // Peak RSS on the full-size seed: every batch job counts, not only the two of the flatness runs.
  const peaks = dbs.flatMap((d) => d.jobs.filter((j) => j.status === 'ok' && j.peakRssBytes !== null).map((j) => ({ db: d.name, job: j.job, b: j.peakRssBytes! })));
  const rss = dbs.flatMap((d) => d.flatness.filter((f) => f.largePeakRssBytes !== null).map((f) => ({ db: d.name, job: f.job, b: f.largePeakRssBytes!, ratio: f.ratio })));
  if (peaks.length) {
    const worst = peaks.reduce((a, b) => (b.b > a.b ? b : a));
    const mbv = worst.b / 1048576;
    checks.push({ figure: 'peak RSS at 1M rows', bar: '≤ 150 MB', goal: '≤ 100 MB', measured: `${mbv.toFixed(0)} MB (${worst.db} ${worst.job})`, verdict: verdict(mbv, 150, 100, false), note: scaled });
  }
  if (rss.length) {
    const withRatio = rss.filter((r) => r.ratio !== null);
    if (withRatio.length) {
      const w = withRatio.reduce((a, b) => (b.ratio! > a.ratio! ? b : a));
      checks.push({ figure: 'peak RSS 1M / 100k', bar: '≤ 1.2', goal: '≤ 1.05', measured: `${w.ratio!.toFixed(2)} (${w.db} ${w.job})`, verdict: verdict(w.ratio!, 1.2, 1.05, false), note: scaled });
    }
  } else {
    checks.push({ figure: 'peak RSS 1M / 100k', bar: '≤ 1.2', goal: '≤ 1.05', measured: 'no job measured', verdict: 'n/a' });
  }
  if (!peaks.length) checks.push({ figure: 'peak RSS at 1M rows', bar: '≤ 150 MB', goal: '≤ 100 MB', measured: 'no job measured', verdict: 'n/a' });
  const mails = dbs.flatMap((d) => (d.mail && d.mail.status === 'ok' && d.mail.messagesPerSecond !== null ? [{ db: d.name, v: d.mail.messagesPerSecond }] : []));
  if (mails.length) {
    const worst = mails.reduce((a, b) => (b.v < a.v ? b : a));
    const each = mails.map((m) => `${m.db} ${m.v.toFixed(0)}`).join(', ');
    checks.push({ figure: 'mail with outbox, msgs/s', bar: '≥ 300', goal: '≥ 1000', measured: `${worst.v.toFixed(0)} (${worst.db}); ${each}`, verdict: verdict(worst.v, 300, 1000, true), note: scaled });
  } else {
    const why = dbs.find((d) => d.mail)?.mail?.status ?? 'not measured';
    checks.push({ figure: 'mail with outbox, msgs/s', bar: '≥ 300', goal: '≥ 1000', measured: why, verdict: 'n/a' });
  }
  if (startup) {
    checks.push({ figure: '`ontime --help` / `node -e 0`', bar: '≤ 1.5', goal: '≤ 1.3', measured: startup.helpRatio.toFixed(2), verdict: verdict(startup.helpRatio, 1.5, 1.3, false) });
  }
  return checks;
}
