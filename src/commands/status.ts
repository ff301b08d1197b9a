/**
 * `ontime status [--json] [--html FILE] [--now]`: everything an operator checks in one place:
 * every job with its latest run, the last runs of each as a strip, failed and interrupted runs
 * with their error, held locks, the outbox backlog and what `check` would say. Writes nothing to
 * the database; `--html` writes one self-contained page atomically; `--prometheus` prints the
 * series of `ontime metrics` instead.
 */
import { assertMigrated, withSession, type Invocation } from '../runner/session.js';

export interface StatusOptions {
  json?: boolean;
  html?: string;
  /** Print the Prometheus series of every job's latest run instead (as `ontime metrics`). */
  prometheus?: boolean;
  now?: Date;
  verbose?: boolean;
}

export default async function status(options: StatusOptions, inv: Invocation): Promise<number> {
  return withSession(inv, { json: options.json, verbose: options.verbose }, async (session) => {
    const db = await session.db();
    await assertMigrated(db);
    if (options.prometheus) {
      const { prometheusText } = await import('../metrics/text.js');
      // Exposition text as it is: not a log line, so neither redacted per line nor wrapped as JSON.
      session.out.streams.stdout.write(await prometheusText(db));
      return 0;
    }
    const { buildStatusModel } = await import('../status/model.js');
    const model = await buildStatusModel(db, session.config, options.now ?? new Date());
    if (options.html) {
      const [{ renderStatusHtml }, { writeFileAtomically }] = await Promise.all([import('../status/render-html.js'), import('../status/write-file.js')]);
      writeFileAtomically(options.html, renderStatusHtml(model));
      if (!options.json) session.out.line(`Wrote the status page to ${options.html}`);
    }
    if (options.json) {
      session.out.emitJson(model);
    } else if (!options.html) {
      const { renderStatusText } = await import('../status/render-text.js');
      for (const line of renderStatusText(model)) session.out.line(line);
    }
    return 0;
  });
}
