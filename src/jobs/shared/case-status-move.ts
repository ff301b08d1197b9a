/**
 * Moving cases from one status to another: the one implementation behind
 * bulk-update-case-status and the two weekly jobs (10 → 15, 15 → 20), which call it with fixed
 * arguments.
 */
import type { Knex } from 'knex';
import { auditMany } from '../../db/audit.js';
import { moveCaseStatus, selectCasesAtStatus, statusesOf, takeStatusMoveBatch, type CaseStatusRow } from '../../db/cases.js';
import { UsageError } from '../../errors.js';
import { formatUtc, plural } from '../../output.js';
import type { JobContext, JobResult } from '../../runner/types.js';

export interface StatusMoveOptions {
  from?: number;
  to?: number;
  /** Only these case ids (--ids). */
  ids?: number[];
  /** Allow a backward move (to a lower status). */
  force?: boolean;
}

export interface ValidStatusMove {
  from: number;
  to: number;
  ids?: number[];
  force: boolean;
}

/** The checks of docs/reference/jobs.md, before anything is read or written: exit 64 with the reason. */
export function validateStatusMove(options: StatusMoveOptions): ValidStatusMove {
  const missing = [options.from === undefined ? '--from' : null, options.to === undefined ? '--to' : null].filter(Boolean);
  if (missing.length > 0) {
    throw new UsageError(`${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} required`, 'e.g. bulk-update-case-status --from 10 --to 15');
  }
  const from = options.from!;
  const to = options.to!;
  if (from === to) throw new UsageError(`--from and --to are both ${from}: there is nothing to move`);
  if (to < from && !options.force) {
    throw new UsageError(
      `moving cases backward from status ${from} to ${to} is refused`,
      'add --force if you really mean to move them back',
    );
  }
  const ids = options.ids ? [...new Set(options.ids)].sort((a, b) => a - b) : undefined;
  return { from, to, ids, force: Boolean(options.force) };
}

/** Who is moving the cases: the run's context, reduced to what a batch needs. */
export interface StatusMoveSource {
  dialect: JobContext['dialect'];
  now: Date;
  actor: string;
  runId: number | null;
}

/**
 * One batch, inside its transaction: the conditional UPDATE, then a history row and an audit row
 * for each case that actually moved. Returns the ids moved; the others changed status since they
 * were selected and were left alone.
 */
export async function applyStatusMoveBatch(
  trx: Knex.Transaction,
  source: StatusMoveSource,
  move: { from: number; to: number },
  ids: number[],
): Promise<number[]> {
  const moved = await moveCaseStatus(trx, statusMoveOf(source, move), ids);
  await auditStatusMoves(trx, source, move, moved);
  return moved;
}

function statusMoveOf(source: StatusMoveSource, move: { from: number; to: number }) {
  return { dialect: source.dialect, from: move.from, to: move.to, now: source.now, source: source.actor, runId: source.runId };
}

const STATUS_CHANGED = 'case.status_changed';

function auditStatusMoves(trx: Knex.Transaction, source: StatusMoveSource, move: { from: number; to: number }, moved: number[]): Promise<void> {
  const details = { from: move.from, to: move.to };
  return auditMany(
    trx,
    source,
    moved.map((id) => ({ action: STATUS_CHANGED, subjectType: 'case', subjectId: id, details })),
  );
}

/** The whole job: select in keyset batches, move each batch in one transaction, report. */
export async function runStatusMove(ctx: JobContext, options: StatusMoveOptions): Promise<JobResult> {
  const { out, dryRun } = ctx;
  const move = validateStatusMove(options);
  const direction = move.to < move.from ? ' (backward, --force)' : '';

  out.line(ctx.startLine(`case status update from ${move.from} to ${move.to}`));
  if (move.ids) out.line(`Only cases ${move.ids.join(', ')} (--ids)`);

  // With --ids, say up front which of them will not be moved and why, rather than ignoring them.
  let notMatching = 0;
  if (move.ids) {
    const current = await statusesOf(ctx.db, move.ids);
    for (const id of move.ids) {
      const row = current.get(id);
      if (row && row.status === move.from) continue;
      notMatching += 1;
      out.detail(row ? `  case ${id} (${row.reference}): not moved, its status is ${row.status}, not ${move.from}` : `  case ${id}: not moved, no such case`);
    }
  }

  let moved = 0;
  let leftAlone = 0;
  const totals = await ctx.eachBatch<CaseStatusRow>({
    label: `moving cases from status ${move.from} to ${move.to}`,
    select: (afterId, size) => selectCasesAtStatus(ctx.db, move.from, move.ids, afterId, size, ctx.shard),
    preview(rows) {
      moved += rows.length;
      if (ctx.verbose) for (const r of rows) out.detail(`  case ${r.id} (${r.reference}): would move ${move.from} → ${move.to}`);
    },
    // Without --ids, PostgreSQL and SQLite pick, move and record each batch in one statement
    // (db/cases.ts), the status re-checked by the UPDATE itself; MariaDB selects, then moves.
    ...(move.ids || ctx.dialect === 'mysql'
      ? {}
      : {
          async take(trx: Knex.Transaction, afterId: number, size: number) {
            const done = await takeStatusMoveBatch(trx, statusMoveOf(ctx, move), STATUS_CHANGED, afterId, size, ctx.shard);
            moved += done.length;
            if (ctx.verbose) for (const r of done) out.detail(`  case ${r.id} (${r.reference}): moved ${move.from} → ${move.to}`);
            return done;
          },
        }),
    async apply(trx, rows) {
      const done = await applyStatusMoveBatch(trx, ctx, move, rows.map((r) => Number(r.id)));
      const doneSet = new Set(done);
      const skipped = rows.filter((r) => !doneSet.has(Number(r.id)));
      moved += done.length;
      leftAlone += skipped.length;
      if (ctx.verbose) {
        for (const r of rows) if (doneSet.has(Number(r.id))) out.detail(`  case ${r.id} (${r.reference}): moved ${move.from} → ${move.to}`);
        if (skipped.length > 0) {
          const now = await statusesOf(trx, skipped.map((r) => Number(r.id)));
          for (const r of skipped) {
            const cur = now.get(Number(r.id));
            out.detail(`  case ${r.id} (${r.reference}): left alone, its status changed to ${cur ? cur.status : '(deleted)'} since it was selected`);
          }
        }
      }
    },
  });

  out.line('');
  out.line(`--- Status ${move.from} → ${move.to}${direction} ---`);
  out.line(`${dryRun ? 'Would move' : 'Moved'}: ${plural(moved, 'case')}`);
  if (!dryRun) out.line(`Left alone (status changed meanwhile): ${plural(leftAlone, 'case')}`);
  if (move.ids) out.line(`Not at status ${move.from} or not found (--ids): ${plural(notMatching, 'case')}`);
  if (totals.limited) out.line(`Stopped at --limit; more cases at status ${move.from} may remain for the next run.`);
  out.line('');
  out.line(`Case status update completed at ${formatUtc(ctx.completedAt())}`);

  return {
    summary: {
      from: move.from,
      to: move.to,
      moved,
      leftAlone,
      ...(move.ids ? { notMatching } : {}),
      forced: move.force && move.to < move.from,
      batches: totals.batches,
      limited: totals.limited,
    },
  };
}
