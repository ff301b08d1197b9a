/**
 * `npx tsx scripts/bench/forms.ts [--db sqlite,postgres,mysql] [--scale 0.1] [--size 5000] [--pairs 6]`
 *
 * One batch, the way each job did it before (select, then change the selected ids in the batch's
 * transaction) against the one-statement form it uses now (src/db), timed in pairs on the same
 * rows of one seeded database: each pair runs both forms on one window of ids, in alternating
 * order, inside transactions that are rolled back, so both see the same rows and machine noise
 * falls on both alike (the present form's select runs in the transaction here, the benchmark
 * having one connection; in the job it runs just before it). Prints the median time of a batch per form. Not part of `npm test`.
 */
import type { Knex } from 'knex';
import { auditMany } from '../../src/db/audit.js';
import { releaseCases, selectDueForRelease, takeReleaseBatch, type ReleaseWindow } from '../../src/db/cases.js';
import { moveCaseStatus, selectCasesAtStatus, takeStatusMoveBatch, type StatusMove } from '../../src/db/case-status.js';
import { deleteExpiredProgressBatch, deleteExpiredProgressRange, expiredProgress, PROGRESS_COLUMNS, PROGRESS_KIND_COLUMNS, selectExpiredProgress } from '../../src/db/progress.js';
import { DAY_MS, utcDay } from '../../src/db/time.js';
import { BenchDatabases, probe, type BenchDatabase, type BenchDbName } from './database.js';
import { median } from './process.js';
import { seedAll, sizesAt } from './seed.js';
import { wholeSecond } from './sql.js';

type Form = (trx: Knex.Transaction, afterId: number, size: number) => Promise<number>;

interface Contest {
  job: string;
  /** The present form first, the one-statement form second (null where the dialect has none). */
  forms: [string, Form, Form | null];
}

const source = (db: BenchDatabase, now: Date) => ({ actor: 'job:bench', runId: null, now, dialect: db.dialect });

function contests(db: BenchDatabase, now: Date, mariadb: boolean): Contest[] {
  const { dialect } = db;
  const stale = new Date(now.getTime() - 30 * DAY_MS);
  const window: ReleaseWindow = { dialect, today: utcDay(now), onlyOverdue: false };
  const move: StatusMove = { dialect, from: 10, to: 15, now, source: 'job:bench', runId: null };
  const progressAudit = (trx: Knex.Transaction, n: number) =>
    auditMany(trx, source(db, now), [{ action: 'survey_progress.deleted', subjectType: 'survey_progress', subjectId: null, details: { deleted: n } }]);
  return [
    {
      job: 'cleanup-survey-progress',
      forms: [
        'select, lock and re-read, delete by ids',
        async (trx, afterId, size) => {
          const rows = await selectExpiredProgress(trx, dialect, now, stale, afterId, size);
          let q = expiredProgress(trx('survey_progress'), dialect, now, stale).select(PROGRESS_COLUMNS).whereIn('id', rows.map((r) => r.id));
          if (dialect !== 'sqlite') q = q.forUpdate();
          const still: Array<{ id: number }> = await q;
          await trx('survey_progress').whereIn('id', still.map((r) => r.id)).del();
          await progressAudit(trx, still.length);
          return still.length;
        },
        dialect !== 'mysql'
          ? async (trx, afterId, size) => {
              const rows = await deleteExpiredProgressRange(trx, dialect, now, stale, afterId, size, PROGRESS_KIND_COLUMNS);
              await progressAudit(trx, rows.length);
              return rows.length;
            }
          : mariadb
            ? async (trx, afterId, size) => {
                const rows = await deleteExpiredProgressBatch(trx, dialect, now, stale, afterId, size, PROGRESS_KIND_COLUMNS);
                await progressAudit(trx, rows.length);
                return rows.length;
              }
            : null,
      ],
    },
    {
      job: 'weekly-pending-payment-update',
      forms: [
        'select, conditional update by ids, history and audit inserts',
        async (trx, afterId, size) => {
          const ids = (await selectCasesAtStatus(trx, 10, undefined, afterId, size)).map((r) => Number(r.key));
          const moved = await moveCaseStatus(trx, move, ids);
          await auditMany(trx, source(db, now), moved.map((id) => ({ action: 'case.status_changed', subjectType: 'case', subjectId: id, details: { from: 10, to: 15 } })));
          return moved.length;
        },
        dialect === 'mysql' ? null : async (trx, afterId, size) => (await takeStatusMoveBatch(trx, move, 'case.status_changed', afterId, size)).length,
      ],
    },
    {
      job: 'release-scheduled-cases',
      forms: [
        'select, conditional update by ids, audit insert',
        async (trx, afterId, size) => {
          const rows = await selectDueForRelease(trx, window, afterId, size);
          const done = await releaseCases(trx, window, rows.map((r) => Number(r.id)), now);
          await auditMany(trx, source(db, now), done.map((id) => ({ action: 'case.released', subjectType: 'case', subjectId: id, details: {} })));
          return done.length;
        },
        dialect === 'mysql' ? null : async (trx, afterId, size) => (await takeReleaseBatch(trx, window, { actor: 'job:bench', runId: null }, now, afterId, size, ['id'])).length,
      ],
    },
  ];
}

/** One batch in a transaction that is rolled back: its time and the rows it changed. */
async function once(knex: Knex, form: Form, afterId: number, size: number): Promise<{ ms: number; rows: number }> {
  let rows = 0;
  const t = performance.now();
  await knex
    .transaction(async (trx) => {
      rows = await form(trx, afterId, size);
      throw new Error('rollback');
    })
    .catch((err: Error) => {
      if (err.message !== 'rollback') throw err;
    });
  return { ms: performance.now() - t, rows };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, fallback: string) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
  };
  const names = opt('--db', 'sqlite,postgres,mysql').split(',') as BenchDbName[];
  const scale = Number(opt('--scale', '0.1'));
  const size = Number(opt('--size', '5000'));
  const pairs = Number(opt('--pairs', '6'));
  const now = wholeSecond(new Date(Date.now() - 1000));
  for (const name of names) {
    const problem = await probe(name);
    if (problem) {
      console.log(`${name}: not available (${problem})`);
      continue;
    }
    const dbs = new BenchDatabases(name);
    const db = await dbs.fresh();
    try {
      await seedAll(db, now, sizesAt(scale));
      const mariadb = name === 'mysql' && /mariadb/i.test(db.version);
      for (const c of contests(db, now, mariadb)) {
        const [label, present, oneStatement] = c.forms;
        if (!oneStatement) {
          console.log(`${name.padEnd(8)} ${c.job.padEnd(30)} no one-statement form on this database`);
          continue;
        }
        const a: number[] = [];
        const b: number[] = [];
        let rowsA = 0;
        let rowsB = 0;
        for (let p = 0; p < pairs; p++) {
          // A fresh window of ids per pair; the order alternates so neither form always goes first.
          const afterId = p * size * 3;
          const first = p % 2 === 0;
          const r1 = await once(db.knex, first ? present : oneStatement, afterId, size);
          const r2 = await once(db.knex, first ? oneStatement : present, afterId, size);
          const [ra, rb] = first ? [r1, r2] : [r2, r1];
          a.push(ra.ms);
          b.push(rb.ms);
          rowsA += ra.rows;
          rowsB += rb.rows;
        }
        const [ma, mb] = [median(a), median(b)];
        console.log(
          `${name.padEnd(8)} ${c.job.padEnd(30)} ${label}: ${ma.toFixed(1)} ms; one statement: ${mb.toFixed(1)} ms ` +
            `(${(ma / mb).toFixed(2)}× faster; rows ${rowsA}/${rowsB} over ${pairs} pairs of batches of ${size})`,
        );
      }
    } finally {
      await dbs.drop(db);
    }
  }
}

main().catch((err) => {
  process.stderr.write(`forms: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 70;
});
