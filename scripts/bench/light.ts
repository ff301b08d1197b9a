/**
 * Light runs: what a run costs when a frequent schedule finds little to do. Every batch job and
 * the mail job run once on an empty (migrated) database, then once with at most 1,000 items due;
 * the figure is each process's peak RSS. The budget is 64 MiB, the limit the Kubernetes CronJob
 * framework of shared/background gives its light commands; `ontime export k8s` takes each
 * job's memory request from these figures (docs/performance.md, "Start-up and memory").
 * Kept apart from the main table so the two can change independently.
 */
import type { BenchDatabases } from './database.js';
import { seedAll, type SeedSizes } from './seed.js';
import { WORKLOADS } from './workloads.js';

export const LIGHT_BUDGET_BYTES = 64 * 2 ** 20;
/** At most 1,000 items due for any job (the seed's shapes make fewer of them due). */
const LIGHT_SIZES: SeedSizes = { cases: 1_000, surveys: 100, responses: 1_000, progress: 1_000 };

export interface LightRun {
  job: string;
  /** Peak RSS with nothing due, and with up to 1,000 items due (bytes); null when the run failed. */
  idleBytes: number | null;
  smallBytes: number | null;
  error?: string;
}

export interface LightResult {
  database: string;
  runs: LightRun[];
}

/** How the bench runs a job: its own process, the figure from outside. */
export type RunForRss = (job: string, url: string) => Promise<{ ok: boolean; peakRssBytes: number | null; error?: string }>;

export const LIGHT_JOBS = [...WORKLOADS.map((w) => w.job), 'send-scheduled-emails'];

export async function measureLightRuns(dbs: BenchDatabases, now: Date, run: RunForRss): Promise<LightResult> {
  const runs: LightRun[] = LIGHT_JOBS.map((job) => ({ job, idleBytes: null, smallBytes: null }));
  for (const phase of ['idle', 'small'] as const) {
    const db = await dbs.fresh();
    try {
      // The seeded cases carry release and e-mail dates, so the mail job has some due too.
      if (phase === 'small') await seedAll(db, now, LIGHT_SIZES);
      for (const r of runs) {
        const result = await run(r.job, db.url);
        if (phase === 'idle') r.idleBytes = result.ok ? result.peakRssBytes : null;
        else r.smallBytes = result.ok ? result.peakRssBytes : null;
        if (!result.ok) r.error = `${phase}: ${result.error ?? 'failed'}`;
      }
    } finally {
      await db.knex.destroy().catch(() => undefined);
    }
  }
  return { database: dbs.name, runs };
}

const mib = (b: number | null) => (b === null ? '–' : (b / 2 ** 20).toFixed(1));

/** The light-run table: one row per job, idle / ≤1,000 due per database, MiB. */
export function renderLight(results: LightResult[]): string {
  if (!results.length) return '';
  const head = ['job', ...results.flatMap((r) => [`${r.database} idle`, `${r.database} ≤1k`])];
  const rows = LIGHT_JOBS.map((job) => [job, ...results.flatMap((r) => {
    const run = r.runs.find((x) => x.job === job);
    return [mib(run?.idleBytes ?? null), mib(run?.smallBytes ?? null)];
  })]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const worst = Math.max(...results.flatMap((r) => r.runs.flatMap((x) => [x.idleBytes ?? 0, x.smallBytes ?? 0])));
  const failed = results.flatMap((r) => r.runs.filter((x) => x.error).map((x) => `${r.database} ${x.job} (${x.error})`));
  return [
    'Light runs: peak RSS, MiB (nothing due / up to 1,000 items due)',
    line(head),
    ...rows.map(line),
    `light-run budget ${mib(LIGHT_BUDGET_BYTES)} MiB: ${worst <= LIGHT_BUDGET_BYTES ? 'met' : 'MISSED'} (largest ${mib(worst)} MiB)` +
      (failed.length ? `; failed: ${failed.join(', ')}` : ''),
  ].join('\n');
}
