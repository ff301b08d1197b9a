/**
 * The in-process ratio against raw SQL, per batch job and database, and its targets (issue 10):
 * raw time / ontime's own `durationMs` (process start-up left out), where raw is the same work as
 * one hand-written SQL transaction with its audit/history rows (workloads.ts). A ratio of 1 means
 * ontime is as fast as that transaction; every figure above 0.3, a geometric mean of at least 0.5
 * (goal 0.8), and no batch transaction over 0.5 s.
 */
import type { DatabaseResult, TargetCheck } from './report.js';

export const RATIO_TARGETS = { floor: 0.3, meanBar: 0.5, meanGoal: 0.8, longestTransactionMs: 500 } as const;

interface Ratio {
  db: string;
  job: string;
  r: number;
}

function inProcessRatios(dbs: DatabaseResult[]): Ratio[] {
  return dbs
    .filter((d) => d.available)
    .flatMap((d) =>
      d.jobs.filter((j) => j.status === 'ok' && j.throughputRatioInProcess !== null).map((j) => ({ db: d.name, job: j.job, r: j.throughputRatioInProcess! })),
    );
}

export function geometricMean(values: number[]): number {
  return Math.exp(values.reduce((s, v) => s + Math.log(v), 0) / values.length);
}

/** One row per job, one column per database: the in-process ratio (and the longest transaction). */
export function renderRatioTable(dbs: DatabaseResult[]): string {
  const names = dbs.filter((d) => d.available).map((d) => d.name);
  const jobs = [...new Set(dbs.flatMap((d) => d.jobs.map((j) => j.job)))];
  if (!names.length || !jobs.length) return '';
  const cell = (db: string, job: string) => {
    const m = dbs.find((d) => d.name === db)?.jobs.find((j) => j.job === job);
    if (!m || m.status !== 'ok' || m.throughputRatioInProcess === null) return m ? m.status : '–';
    const tx = m.longestBatchMs === null ? '' : ` (${(m.longestBatchMs / 1000).toFixed(2)} s)`;
    return `${m.throughputRatioInProcess.toFixed(2)}${tx}`;
  };
  const headers = ['job', ...names];
  const rows = jobs.map((job) => [job, ...names.map((db) => cell(db, job))]);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    'In-process ratio against raw SQL (raw s / ontime durationMs; longest batch transaction in brackets)',
    line(headers),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
  ].join('\n');
}

/** The three rows of the targets table for the ratio: the lowest, the geometric mean, the longest transaction. */
export function ratioTargets(dbs: DatabaseResult[], scale: number): TargetCheck[] {
  const note = scale === 0.4 ? undefined : `measured at --scale ${scale}`;
  const ratios = inProcessRatios(dbs);
  const checks: TargetCheck[] = [];
  if (!ratios.length) {
    checks.push({ figure: 'in-process ratio / raw SQL, lowest', bar: `≥ ${RATIO_TARGETS.floor}`, goal: `≥ ${RATIO_TARGETS.meanGoal}`, measured: 'no job measured', verdict: 'n/a' });
  } else {
    const worst = ratios.reduce((a, b) => (b.r < a.r ? b : a));
    checks.push({
      figure: 'in-process ratio / raw SQL, lowest',
      bar: `≥ ${RATIO_TARGETS.floor}`,
      goal: `≥ ${RATIO_TARGETS.meanGoal}`,
      measured: `${worst.r.toFixed(2)} (${worst.db} ${worst.job})`,
      verdict: worst.r >= RATIO_TARGETS.meanGoal ? 'goal' : worst.r >= RATIO_TARGETS.floor ? 'bar' : 'missed',
      note,
    });
    const mean = geometricMean(ratios.map((x) => x.r));
    checks.push({
      figure: `in-process ratio / raw SQL, geometric mean of ${ratios.length}`,
      bar: `≥ ${RATIO_TARGETS.meanBar}`,
      goal: `≥ ${RATIO_TARGETS.meanGoal}`,
      measured: mean.toFixed(2),
      verdict: mean >= RATIO_TARGETS.meanGoal ? 'goal' : mean >= RATIO_TARGETS.meanBar ? 'bar' : 'missed',
      note,
    });
  }
  const txs = dbs.flatMap((d) => d.jobs.filter((j) => j.status === 'ok' && j.longestBatchMs !== null).map((j) => ({ db: d.name, job: j.job, ms: j.longestBatchMs! })));
  if (txs.length) {
    const worst = txs.reduce((a, b) => (b.ms > a.ms ? b : a));
    checks.push({
      figure: 'longest batch transaction, default sizing',
      bar: `≤ ${RATIO_TARGETS.longestTransactionMs / 1000} s`,
      goal: `≤ ${RATIO_TARGETS.longestTransactionMs / 1000} s`,
      measured: `${(worst.ms / 1000).toFixed(3)} s (${worst.db} ${worst.job})`,
      verdict: worst.ms <= RATIO_TARGETS.longestTransactionMs ? 'goal' : 'missed',
    });
  }
  return checks;
}
