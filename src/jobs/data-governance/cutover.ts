/**
 * The warnings cut-over (docs/profiles.md): when ontime takes over from an application that sent
 * its own deletion warnings (CheckTick), a warning whose threshold (deletion_date - 30/7/1 days)
 * passed before the cut-over instant was the application's to send. ontime records it as sent,
 * without a mail, so the first run does not repeat it. The instant is the profile's
 * rules.warningsSince, or, for `first-run`, the first real run's now, kept in ontime's settings
 * table under CUTOVER_KEY (an operator may set or correct it there).
 */
import { getSetting, setSetting } from '../../db/settings.js';
import { DAY_MS } from '../../db/time.js';
import type { JobContext } from '../../runner/types.js';

export const CUTOVER_KEY = 'governance.warnings_since';

/** The cut-over instant, or null when the profile has none (the ontime profile). */
export async function warningsCutover(ctx: JobContext): Promise<Date | null> {
  const rule = ctx.schema.profile.rules.warningsSince;
  if (rule === null) return null;
  if (rule !== 'first-run') return new Date(rule);
  const stored = await getSetting(ctx.db, CUTOVER_KEY);
  if (stored && !Number.isNaN(new Date(stored).getTime())) return new Date(stored);
  // A dry run writes nothing: it shows what the first real run would take as already sent.
  if (!ctx.dryRun) await setSetting(ctx.db, ctx.dialect, CUTOVER_KEY, ctx.now.toISOString(), ctx.now);
  return ctx.now;
}

/** Whether the warning with `days` for this deletion date fell due before the cut-over. */
export function sentByApplication(cutover: Date | null, deletionDate: Date, days: number): boolean {
  return cutover !== null && deletionDate.getTime() - days * DAY_MS < cutover.getTime();
}
