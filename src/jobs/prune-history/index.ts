/**
 * prune-history: keep ontime's own tables from growing without end, and drop personal data kept
 * past its purpose.
 *   job_runs      finished more than --runs-days ago → deleted, except each job's newest
 *                 RUNS_KEPT_PER_JOB runs and every run still `running`;
 *   email_outbox  sent/failed more than --outbox-days ago → recipient, subject and bodies cleared;
 *                 the dedupe key stays, so the message is never sent again; pending rows untouched;
 *   audit_log     only with --audit-days: older rows archived to ONTIME_ARCHIVE_DIR, then deleted.
 */
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../../errors.js';
import type { Config } from '../../config.js';
import { audit } from '../../db/audit.js';
import {
  deleteArchivedAudit,
  deletePrunableRuns,
  redactOutbox,
  runBoundaries,
  RUNS_KEPT_PER_JOB,
  selectOldAudit,
  selectPrunableRuns,
  selectRedactableOutbox,
  type AuditRow,
} from '../../db/housekeeping.js';
import { DAY_MS } from '../../db/time.js';
import { formatUtc, plural } from '../../output.js';
import type { JobContext, JobHandler } from '../../runner/types.js';
import { writeAuditArchive } from './archive.js';
import { ownTables } from '../../db/schema.js';

export interface PruneOptions {
  runsDays: number;
  outboxDays: number;
  auditDays?: number;
}

/** Usage that needs no database: --audit-days is refused without somewhere to archive to (78). */
export function validatePruneOptions(options: Record<string, unknown>, config?: Config): void {
  if (options.auditDays !== undefined && !config?.archiveDir) {
    throw new ConfigError(
      '--audit-days needs ONTIME_ARCHIVE_DIR: audit rows are archived there before they are deleted',
      'set ONTIME_ARCHIVE_DIR to a directory on durable storage, or leave --audit-days out to keep the audit log',
    );
  }
}

const daysBefore = (now: Date, days: number) => new Date(now.getTime() - days * DAY_MS);

async function pruneRuns(ctx: JobContext, days: number) {
  const before = daysBefore(ctx.now, days);
  const boundaries = await runBoundaries(ctx.db);
  let deleted = 0;
  const totals = await ctx.eachBatch({
    label: 'deleting old job runs',
    select: (afterId, size) => selectPrunableRuns(ctx.db, ctx.dialect, before, boundaries, afterId, size),
    preview: (rows) => {
      deleted += rows.length;
      if (ctx.verbose) for (const r of rows) ctx.out.detail(`  run ${r.id} (${r.job}, ${r.status})`);
    },
    async apply(trx, rows) {
      const n = await deletePrunableRuns(trx, ctx.dialect, before, boundaries, rows.map((r) => r.id));
      deleted += n;
      if (n > 0) {
        await audit(trx, ctx, {
          action: 'job_runs.pruned',
          subjectType: 'job_runs',
          subjectId: null,
          details: { deleted: n, firstId: rows[0]!.id, lastId: rows[rows.length - 1]!.id, runsDays: days },
        });
      }
    },
  });
  return { deleted, before, limited: totals.limited, batches: totals.batches };
}

async function redactMessages(ctx: JobContext, days: number) {
  const before = daysBefore(ctx.now, days);
  let redacted = 0;
  const totals = await ctx.eachBatch({
    label: 'clearing old email content',
    select: (afterId, size) => selectRedactableOutbox(ctx.db, ctx.dialect, before, afterId, size),
    preview: (rows) => {
      redacted += rows.length;
      if (ctx.verbose) for (const r of rows) ctx.out.detail(`  message ${r.id} (${r.kind ?? 'no kind'}, ${r.status})`);
    },
    async apply(trx, rows) {
      const n = await redactOutbox(trx, ctx.dialect, before, rows.map((r) => r.id));
      redacted += n;
      if (n > 0) {
        await audit(trx, ctx, {
          action: 'email_outbox.redacted',
          subjectType: 'email_outbox',
          subjectId: null,
          details: { redacted: n, firstId: rows[0]!.id, lastId: rows[rows.length - 1]!.id, outboxDays: days },
        });
      }
    },
  });
  return { redacted, before, limited: totals.limited, batches: totals.batches };
}

/** Rows read per query while writing the archive file (reads only; the deletes page like any batch). */
const ARCHIVE_READ_PAGE = 1000;

async function archiveAudit(ctx: JobContext, days: number, dir: string) {
  const before = daysBefore(ctx.now, days);
  const top = await ctx.db(ownTables(ctx.db).auditLog).max({ id: 'id' }).first();
  const upToId = Number(top?.id ?? 0);
  // Read no more than --limit allows, so every row archived is also deleted by this run.
  const budget = ctx.remaining();
  async function* pages(): AsyncGenerator<AuditRow[]> {
    let afterId = 0;
    let taken = 0;
    while (taken < budget) {
      const size = Math.min(ARCHIVE_READ_PAGE, budget - taken);
      const page = await selectOldAudit(ctx.db, ctx.dialect, before, afterId, upToId, size);
      if (page.length === 0) return;
      taken += page.length;
      afterId = page[page.length - 1]!.id;
      yield page;
      if (page.length < size) return;
    }
  }
  if (ctx.dryRun) {
    let would = 0;
    for await (const page of pages()) would += page.length;
    return { archived: would, deleted: 0, file: null as string | null, before, limited: false };
  }
  const written = await writeAuditArchive(dir, pages(), `${ctx.runId ?? 'run'}-${randomBytes(4).toString('hex')}`);
  if (!written) return { archived: 0, deleted: 0, file: null as string | null, before, limited: false };
  const inFile = new Set(written.ids);
  let deleted = 0;
  const totals = await ctx.eachBatch({
    label: 'deleting archived audit rows',
    select: (afterId, size) => selectOldAudit(ctx.db, ctx.dialect, before, afterId, written.lastId, size),
    async apply(trx, rows) {
      const ids = rows.map((r) => r.id).filter((id) => inFile.has(id));
      if (ids.length === 0) return;
      const n = await deleteArchivedAudit(trx, ctx.dialect, before, ids);
      deleted += n;
      await audit(trx, ctx, {
        action: 'audit_log.archived',
        subjectType: 'audit_log',
        subjectId: null,
        details: { deleted: n, firstId: ids[0], lastId: ids[ids.length - 1], file: written.file, auditDays: days },
      });
    },
  });
  return { archived: written.rows, deleted, file: written.file, before, limited: totals.limited };
}

const pruneHistory: JobHandler<PruneOptions> = async (ctx, options) => {
  const { out, dryRun } = ctx;
  out.line(ctx.startLine('history pruning'));
  const runs = await pruneRuns(ctx, options.runsDays);
  out.line(
    `${dryRun ? 'Would delete' : 'Deleted'} ${plural(runs.deleted, 'job run')} finished before ${formatUtc(runs.before)} (each job keeps its newest ${RUNS_KEPT_PER_JOB} and every running one)`,
  );
  const mail = await redactMessages(ctx, options.outboxDays);
  out.line(`${dryRun ? 'Would clear' : 'Cleared'} recipient, subject and body of ${plural(mail.redacted, 'sent or failed message')} settled before ${formatUtc(mail.before)}`);
  let archive: Awaited<ReturnType<typeof archiveAudit>> | null = null;
  if (options.auditDays !== undefined) {
    archive = await archiveAudit(ctx, options.auditDays, ctx.config.archiveDir!);
    out.line(
      dryRun
        ? `Would archive and delete ${plural(archive.archived, 'audit row')} before ${formatUtc(archive.before)}`
        : `Archived ${plural(archive.archived, 'audit row')} before ${formatUtc(archive.before)}${archive.file ? ` to ${archive.file}` : ''}; deleted ${archive.deleted}`,
    );
  } else {
    out.line('Audit log kept (no --audit-days).');
  }
  const limited = runs.limited || mail.limited || Boolean(archive?.limited);
  if (limited) out.line('Stopped at --limit; the rest is left for the next run.');
  out.line('');
  out.line(`History pruning completed at ${formatUtc(ctx.completedAt())}`);
  return {
    summary: {
      runsDeleted: runs.deleted,
      messagesRedacted: mail.redacted,
      auditArchived: archive?.archived ?? 0,
      auditDeleted: archive?.deleted ?? 0,
      archiveFile: archive?.file ?? null,
      runsDays: options.runsDays,
      outboxDays: options.outboxDays,
      auditDays: options.auditDays ?? null,
      batches: runs.batches + mail.batches,
      limited,
    },
  };
};

export default pruneHistory;
