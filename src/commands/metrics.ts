/**
 * `ontime metrics`: the Prometheus series of every job's latest run and of the outbox, in the
 * text exposition format on stdout, for any exporter or scrape wrapper (a script exporter, a
 * cron line writing a textfile, `curl` by hand). The same series a run pushes at its end.
 * The text itself is built in src/metrics/text.ts, which `status --prometheus` prints too.
 */
import { prometheusText } from '../metrics/text.js';
import { assertMigrated, withSession, type Invocation } from '../runner/session.js';

interface MetricsOptions {
  verbose?: boolean;
}

export default async function metrics(options: MetricsOptions, inv: Invocation): Promise<number> {
  return withSession(inv, { verbose: options.verbose }, async (session) => {
    const db = await session.db();
    await assertMigrated(db);
    // Exposition text as it is: not a log line, so neither redacted per line nor wrapped as JSON.
    session.out.streams.stdout.write(await prometheusText(db));
    return 0;
  });
}
