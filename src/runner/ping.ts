/**
 * Monitoring pings, healthchecks.io style: `<url>/start` when a run starts, `<url>/<exit code>`
 * when it ends. Five seconds at most; a failed ping is a warning, never the job's failure.
 */
import type { Output } from '../output.js';

const PING_TIMEOUT_MS = 5_000;

export function pingTarget(pingUrl: string, job: string, suffix: string): string {
  return `${pingUrl.replaceAll('{job}', encodeURIComponent(job)).replace(/\/+$/, '')}/${suffix}`;
}

/** The host only: a ping URL's path is often its secret (a healthchecks UUID). */
function where(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the monitoring URL';
  }
}

export async function sendPing(pingUrl: string | undefined, job: string, suffix: string, out: Output): Promise<void> {
  if (!pingUrl) return;
  const url = pingTarget(pingUrl, job, suffix);
  try {
    const res = await fetch(url, { method: 'GET', signal: AbortSignal.timeout(PING_TIMEOUT_MS) });
    // Read the body so the connection is free and nothing keeps the process alive.
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) out.warn(`monitoring ping "${suffix}" to ${where(url)} answered HTTP ${res.status}; the job's result is unchanged`);
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    // fetch's own messages may quote the whole URL (path and credentials): show its host instead.
    const why =
      e.name === 'TimeoutError'
        ? `no answer within ${PING_TIMEOUT_MS / 1000}s`
        : (e.cause?.code ?? e.message.replace(/[a-z][a-z0-9+.-]*:\/\/\S*/gi, (u) => where(u)));
    out.warn(`monitoring ping "${suffix}" to ${where(url)} failed (${why}); the job's result is unchanged`);
  }
}
