/** The Prometheus exposition text of every job's latest run and the outbox (`ontime metrics`, `ontime status --prometheus`). */
import type { Knex } from 'knex';
import { jobs } from '../registry.js';

/** The series of every registered job's latest finished run, and the outbox, as exposition text. */
export async function prometheusText(db: Knex): Promise<string> {
  const [{ allLatestSamples }, { renderExposition }] = await Promise.all([
    import('./collect.js'),
    import('./exposition.js'),
  ]);
  return renderExposition(await allLatestSamples(db, jobs.map((j) => j.name)));
}
