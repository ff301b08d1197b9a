/**
 * Memory requests and limits of `ontime export k8s`, derived from measured peak RSS, not guessed.
 * The figures are the table "Memory figures for export k8s" of docs/performance.md (a unit test
 * keeps the two the same): for each job, in MiB, the largest peak over SQLite, PostgreSQL and
 * MariaDB, as `npm run bench` measures them (GNU time's maximum resident set size):
 *   light  a light run, nothing due or at most 1,000 items (scripts/bench/light.ts);
 *   full   the run over the bench's default (scale 0.4) data, e.g. 200,000 cases released.
 * The request covers a light run, which is what a frequent schedule mostly does, so a node packs
 * many of these pods; the limit covers a full run with half again as much (a tenfold table raised
 * the peak by up to 1.38×; docs/performance.md), so a backlog does not end in an OOM kill.
 */
export interface MeasuredMemory {
  lightMiB: number;
  fullMiB: number;
}

export const MEASURED_MEMORY: Record<string, MeasuredMemory> = {
  'release-scheduled-cases': { lightMiB: 63.9, fullMiB: 113.9 },
  'weekly-pending-payment-update': { lightMiB: 63.5, fullMiB: 103.7 },
  'cleanup-survey-progress': { lightMiB: 61.9, fullMiB: 106.5 },
  'process-data-governance': { lightMiB: 61.3, fullMiB: 94.9 },
  'send-scheduled-emails': { lightMiB: 80.6, fullMiB: 126.6 },
};

/**
 * The jobs the bench does not run take the figures of the measured job they work like.
 * backup-database is not among them: its dump tool runs in the same pod, so it gets the largest.
 */
export const MEASURED_LIKE: Record<string, string> = {
  'weekly-paid-update': 'weekly-pending-payment-update',
  'bulk-update-case-status': 'weekly-pending-payment-update',
  'prune-history': 'cleanup-survey-progress',
  'weekly-report': 'send-scheduled-emails',
};

/** Limit over the full run's peak: covers the 1.12–1.38× growth measured from a tenfold table. */
export const HEADROOM = 1.5;
const roundUp = (mib: number, step: number) => Math.ceil(mib / step) * step;

/** A job's figures; a job neither measured nor like a measured one gets the largest of each. */
export function measuredMemory(job: string): MeasuredMemory {
  const known = MEASURED_MEMORY[job] ?? MEASURED_MEMORY[MEASURED_LIKE[job] ?? ''];
  if (known) return known;
  const all = Object.values(MEASURED_MEMORY);
  return { lightMiB: Math.max(...all.map((m) => m.lightMiB)), fullMiB: Math.max(...all.map((m) => m.fullMiB)) };
}

/** Request: the light run, rounded up to 8 MiB. Limit: the full run × HEADROOM, rounded up to 16 MiB. */
export function memoryResources(job: string): { memoryRequest: string; memoryLimit: string } {
  const m = measuredMemory(job);
  const request = roundUp(m.lightMiB, 8);
  const limit = Math.max(request, roundUp(m.fullMiB * HEADROOM, 16));
  return { memoryRequest: `${request}Mi`, memoryLimit: `${limit}Mi` };
}
