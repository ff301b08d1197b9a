/**
 * `ontime metrics`: the Prometheus series of every job's latest run and of the outbox, in the
 * text exposition format on stdout, for any exporter or scrape wrapper (a script exporter, a
 * cron line writing a textfile, `curl` by hand). The same series a run pushes at its end.
 * `prometheusText` is the whole of it, for any other command (`status --prometheus`) to print.
 */
import type { Knex } from 'knex';
import { jobs } from '../registry.js';
import { assertMigrated, withSession, type Invocation } from '../runner/session.js';

interface MetricsOptions {
  verbose?: boolean;
}

/** The series of every registered job's latest finished run, and the outbox, as exposition text. */
export async function prometheusText(db: Knex): Promise<string> {
  const [{ allLatestSamples }, { renderExposition }] = await Promise.all([
    import('../metrics/collect.js'),
    import('../metrics/exposition.js'),
  ]);
  return renderExposition(await allLatestSamples(db, jobs.map((j) => j.name)));
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
