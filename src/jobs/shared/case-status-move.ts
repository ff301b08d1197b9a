/**
 * Moving cases from one status to another: the one implementation behind
 * bulk-update-case-status and the two weekly jobs (10 → 15, 15 → 20), which call it with fixed
 * arguments. Case keys come from the profile (integers, or SurgiCase's string case_id); only live
 * cases move (the profile's activeColumn).
 *
 * Two ways to name what moves (docs/reference/jobs.md):
 * - `--from A --to B [--ids …]`: cases at A move to B; a backward move needs --force up front.
 * - `--to B --ids …` (no --from): each listed case moves from whatever status it has, as
 *   SurgiCase's bulk update does; a case that would move backward is refused on its own (unless
 *   --force) and reported, the others move, and the run exits 1 when any was refused.
 */
import type { Knex } from 'knex';
import { auditMany } from '../../db/audit.js';
import { moveCaseStatus, normalKey, selectCasesAtStatus, statusesOf, takeStatusMoveBatch, type CaseKey, type CaseStatusRow } from '../../db/case-status.js';
import { mapped } from '../../db/schema.js';
import { ConfigError, UsageError } from '../../errors.js';
import { formatUtc, plural } from '../../output.js';
import type { JobContext, JobResult } from '../../runner/types.js';

export interface StatusMoveOptions {
  from?: number;
  to?: number;
  /** Only these cases (--ids): numbers, or keys as written under a profile with string keys. */
  ids?: CaseKey[];
  /** Allow a backward move (to a lower status). */
  force?: boolean;
}

export interface ValidStatusMove {
  /** undefined: each listed case moves from its own status (--to with --ids, no --from). */
  from?: number;
  to: number;
  ids?: CaseKey[];
  force: boolean;
}

function compareKeys(a: CaseKey, b: CaseKey): number {
  if (typeof a !== typeof b) return typeof a === 'number' ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The checks of docs/reference/jobs.md, before anything is read or written: exit 64 with the reason. */
export function validateStatusMove(options: StatusMoveOptions): ValidStatusMove {
  const missing = [options.from === undefined && !options.ids ? '--from' : null, options.to === undefined ? '--to' : null].filter(Boolean);
  if (missing.length > 0) {
    throw new UsageError(`${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} required`, 'e.g. bulk-update-case-status --from 10 --to 15');
  }
  const from = options.from;
  const to = options.to!;
  if (from === to) throw new UsageError(`--from and --to are both ${from}: there is nothing to move`);
  if (from !== undefined && to < from && !options.force) {
    throw new UsageError(
      `moving cases backward from status ${from} to ${to} is refused`,
      'add --force if you really mean to move them back',
    );
  }
  const ids = options.ids ? [...new Set(options.ids)].sort(compareKeys) : undefined;
  return { from, to, ids, force: Boolean(options.force) };
}

/** --ids in the form the profile's case key takes: a word under an integer-keyed profile is a usage error. */
export function caseKeys(db: Knex, ids: CaseKey[] | undefined): CaseKey[] | undefined {
  if (!ids) return undefined;
  const map = mapped(db, 'cases');
  if (map.idKind === 'integer') {
    const word = ids.find((id) => typeof id === 'string');
    if (word !== undefined) throw new UsageError(`--ids must be a comma-separated list of ids from 1 to ${Number.MAX_SAFE_INTEGER}, not "${word}"`);
  }
  return [...new Set(ids.map((id) => normalKey(map, id)))].sort(compareKeys);
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
 * for each case that actually moved. Returns the keys moved; the others changed status since they
 * were selected and were left alone.
 */
export async function applyStatusMoveBatch(
  trx: Knex.Transaction,
  source: StatusMoveSource,
  move: { from: number; to: number },
  keys: CaseKey[],
): Promise<CaseKey[]> {
  const moved = await moveCaseStatus(trx, { dialect: source.dialect, from: move.from, to: move.to, now: source.now, source: source.actor, runId: source.runId }, keys);
  const details = { from: move.from, to: move.to };
  await auditMany(
    trx,
    source,
    moved.map((key) => ({ action: 'case.status_changed', subjectType: 'case', subjectId: key, details })),
  );
  return moved;
}

/** A selected case as the runner pages it: `id` is the key itself, or its position for string keys. */
type Paged = CaseStatusRow & { id: number };

/** The whole job: select in keyset batches, move each batch in one transaction, report. */
export async function runStatusMove(ctx: JobContext, options: StatusMoveOptions): Promise<JobResult> {
  const { out, dryRun } = ctx;
  const rule = mapped(ctx.db, 'cases').statusRelease;
  // Under a status release rule the status is a word ('completed', 'hold'); these jobs move integers.
  if (rule) throw new ConfigError(`the ${ctx.schema.profile.name} profile's case statuses are words (${rule.status}, …): the integer status jobs have nothing to work on`, 'do not schedule this job under this profile');
  const valid = validateStatusMove(options);
  const keys = caseKeys(ctx.db, valid.ids);
  const target = valid.from === undefined ? `to ${valid.to}` : `from ${valid.from} to ${valid.to}`;
  const direction = valid.from !== undefined && valid.to < valid.from ? ' (backward, --force)' : '';
  const name = (r: { key: CaseKey; reference: string }) => (String(r.key) === r.reference ? `case ${r.key}` : `case ${r.key} (${r.reference})`);

  out.line(ctx.startLine(`case status update ${target}`));
  if (keys) out.line(`Only cases ${keys.join(', ')} (--ids)`);

  // With --ids, say up front which of them will not be moved and why, rather than ignoring them.
  let notMatching = 0;
  let alreadyThere = 0;
  /** Listed cases moving backward under --force (per-case moves). */
  let backward = 0;
  const refused: CaseStatusRow[] = [];
  let listed: CaseStatusRow[] = [];
  if (keys) {
    const current = await statusesOf(ctx.db, keys);
    for (const key of keys) {
      const row = current.get(key);
      if (!row) {
        notMatching += 1;
        out.detail(`  case ${key}: not moved, no such ${mapped(ctx.db, 'cases').activeColumn ? 'active ' : ''}case`);
      } else if (valid.from !== undefined && row.status !== valid.from) {
        notMatching += 1;
        out.detail(`  ${name(row)}: not moved, its status is ${row.status}, not ${valid.from}`);
      } else if (valid.from === undefined && row.status === valid.to) {
        alreadyThere += 1;
        out.detail(`  ${name(row)}: not moved, already at status ${valid.to}`);
      } else if (valid.from === undefined && row.status > valid.to && !valid.force) {
        refused.push(row);
        out.line(`  ${name(row)}: refused, moving it back from ${row.status} to ${valid.to} needs --force`);
      } else {
        if (row.status > valid.to) backward += 1;
        listed.push(row);
      }
    }
  }

  let moved = 0;
  let leftAlone = 0;
  // Keyset paging on the case key: the runner pages by a numeric id, so string keys are paged by
  // position and the last key seen is kept here.
  const integerKeys = mapped(ctx.db, 'cases').idKind === 'integer';
  if (ctx.shard && !integerKeys) {
    throw new UsageError('--shard needs integer case keys: this profile names cases by string keys', 'run it without --shard');
  }
  let lastKey: CaseKey | null = null;
  let position = 0;
  const page = (rows: CaseStatusRow[]): Paged[] => {
    if (rows.length > 0) lastKey = rows[rows.length - 1]!.key;
    return rows.map((r) => ({ ...r, id: integerKeys ? Number(r.key) : ++position }));
  };
  const select = async (afterId: number, size: number): Promise<Paged[]> => {
    if (valid.from === undefined) {
      // Per-case moves: the listed cases, read above, in key order.
      const rest = listed;
      listed = rest.slice(size);
      return page(rest.slice(0, size));
    }
    return page(await selectCasesAtStatus(ctx.db, valid.from, keys, integerKeys ? afterId || null : lastKey, size, ctx.shard));
  };

  const totals = await ctx.eachBatch<Paged>({
    label: `moving cases ${target}`,
    select,
    preview(rows) {
      moved += rows.length;
      if (ctx.verbose) for (const r of rows) out.detail(`  ${name(r)}: would move ${r.status} → ${valid.to}`);
    },
    // A status-wide move over integer keys: on PostgreSQL and SQLite each batch is picked, moved
    // and recorded in one statement (db/case-status.ts), the status re-checked by the UPDATE
    // itself; MariaDB, --ids and string keys select, then move.
    ...(valid.from === undefined || keys || !integerKeys || ctx.dialect === 'mysql'
      ? {}
      : {
          async take(trx: Knex.Transaction, afterId: number, size: number): Promise<Paged[]> {
            const from = valid.from!;
            const move = { dialect: ctx.dialect, from, to: valid.to, now: ctx.now, source: ctx.actor, runId: ctx.runId };
            const done = await takeStatusMoveBatch(trx, move, 'case.status_changed', afterId, size, ctx.shard);
            moved += done.length;
            if (ctx.verbose) for (const r of done) out.detail(`  ${name(r)}: moved ${from} → ${valid.to}`);
            return done.map((r) => ({ ...r, status: from, id: Number(r.key) }));
          },
        }),
    async apply(trx, rows) {
      const done = new Set<CaseKey>();
      for (const from of new Set(rows.map((r) => r.status))) {
        const group = rows.filter((r) => r.status === from).map((r) => r.key);
        for (const key of await applyStatusMoveBatch(trx, ctx, { from, to: valid.to }, group)) done.add(key);
      }
      const skipped = rows.filter((r) => !done.has(r.key));
      moved += done.size;
      leftAlone += skipped.length;
      if (ctx.verbose) {
        for (const r of rows) if (done.has(r.key)) out.detail(`  ${name(r)}: moved ${r.status} → ${valid.to}`);
        if (skipped.length > 0) {
          const now = await statusesOf(trx, skipped.map((r) => r.key));
          for (const r of skipped) {
            const cur = now.get(r.key);
            out.detail(`  ${name(r)}: left alone, its status changed to ${cur ? cur.status : '(deleted or inactive)'} since it was selected`);
          }
        }
      }
    },
  });

  out.line('');
  out.line(`--- Status ${valid.from === undefined ? `→ ${valid.to}` : `${valid.from} → ${valid.to}`}${direction} ---`);
  out.line(`${dryRun ? 'Would move' : 'Moved'}: ${plural(moved, 'case')}`);
  if (!dryRun) out.line(`Left alone (status changed meanwhile): ${plural(leftAlone, 'case')}`);
  if (valid.from !== undefined && keys) out.line(`Not at status ${valid.from} or not found (--ids): ${plural(notMatching, 'case')}`);
  if (valid.from === undefined) {
    out.line(`Not found (--ids): ${plural(notMatching, 'case')}`);
    out.line(`Already at status ${valid.to}: ${plural(alreadyThere, 'case')}`);
    out.line(`Refused (backward without --force): ${plural(refused.length, 'case')}`);
  }
  if (totals.limited) out.line(`Stopped at --limit; more cases${valid.from === undefined ? '' : ` at status ${valid.from}`} may remain for the next run.`);
  out.line('');
  out.line(`Case status update completed at ${formatUtc(ctx.completedAt())}`);

  return {
    summary: {
      ...(valid.from === undefined ? {} : { from: valid.from }),
      to: valid.to,
      moved,
      leftAlone,
      ...(keys ? { notMatching } : {}),
      ...(valid.from === undefined ? { alreadyThere, refused: refused.length, refusedCases: refused.map((r) => r.key) } : {}),
      forced: valid.force && (valid.from === undefined ? backward > 0 : valid.to < valid.from),
      batches: totals.batches,
      limited: totals.limited,
    },
    ...(refused.length > 0 ? { failed: refused.length } : {}),
  };
}
