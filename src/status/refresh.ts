/**
 * ONTIME_STATUS_HTML=/path/status.html: the status page refreshed after every real job run, every
 * `run-due` pass and every pass of `work`. A page that cannot be written is a warning on stderr,
 * never a failed run: the job's own work is done and its exit code stays what it was.
 */
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import type { Output } from '../output.js';

export const STATUS_HTML_ENV = 'ONTIME_STATUS_HTML';

export function statusPagePath(config: Config): string | undefined {
  return config.env[STATUS_HTML_ENV]?.trim() || undefined;
}

export async function writeStatusPage(db: Knex, config: Config, file: string, now = new Date()): Promise<void> {
  const [{ buildStatusModel }, { renderStatusHtml }, { writeFileAtomically }] = await Promise.all([
    import('./model.js'),
    import('./render-html.js'),
    import('./write-file.js'),
  ]);
  writeFileAtomically(file, renderStatusHtml(await buildStatusModel(db, config, now)));
}

/** Refresh the page when ONTIME_STATUS_HTML is set; warn (never throw) when it cannot be written. */
export async function refreshStatusPage(db: Knex, config: Config, out: Output): Promise<void> {
  const file = statusPagePath(config);
  if (!file) return;
  try {
    await writeStatusPage(db, config, file);
  } catch (err) {
    out.warn(`the status page ${file} (ONTIME_STATUS_HTML) was not refreshed: ${(err as Error).message}; the run's result is unchanged`);
  }
}
