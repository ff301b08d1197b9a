/**
 * Pushgateway: the way Prometheus monitors batch jobs. One PUT per group replaces that group's
 * series: the job's (grouping key job + instance = host, + shard when set) and the outbox's
 * (grouping key job="ontime_outbox" alone, so the latest observation from any host wins instead
 * of every job's group keeping its own, older copy).
 */
import { renderExposition } from './exposition.js';
import type { Sample } from './series.js';

/** Long enough for a gateway on the network, short enough that a dead one does not hold a run. */
export const PUSH_TIMEOUT_MS = 3000;

export const OUTBOX_GROUP_JOB = 'ontime_outbox';

/** `/job/<v>/instance/<v>`: a value with a slash (or empty) goes in the gateway's base64 form. */
function groupingPath(key: Record<string, string>): string {
  return Object.entries(key)
    .map(([name, value]) =>
      value === '' || value.includes('/')
        ? `/${name}@base64/${Buffer.from(value).toString('base64url') || '='}`
        : `/${name}/${encodeURIComponent(value)}`,
    )
    .join('');
}

export async function pushGroup(baseUrl: string, key: Record<string, string>, samples: Sample[]): Promise<void> {
  // The grouping key labels every series of the group; pushed copies of them would be redundant.
  const body = renderExposition(
    samples.map((s) => ({ ...s, labels: Object.fromEntries(Object.entries(s.labels).filter(([k]) => !(k in key))) })),
  );
  const url = `${baseUrl.replace(/\/+$/, '')}/metrics${groupingPath(key)}`;
  const response = await fetch(url, {
    method: 'PUT',
    headers: { 'content-type': 'text/plain; version=0.0.4' },
    body,
    signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
  });
  if (!response.ok) {
    const text = (await response.text().catch(() => '')).trim().split('\n')[0] ?? '';
    throw new Error(`HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`);
  }
}
