/**
 * Realistic data, generated inside the database with one INSERT … SELECT per table (PostgreSQL
 * generate_series, MariaDB's seq_1_to_N, SQLite a recursive CTE): no row crosses the wire.
 *
 * The mix, by row number n (ids are n, so the mix is the same on every dialect):
 * - cases: status 10 for even n (half), else 15 or 20; scheduled release spread over 60 days back
 *   to 29 days ahead (1 in 17 without one), 1 in 10 already released; email dates spread the same
 *   way; holds on 5 in 20 (active, ended by duration, open-ended, ended by end date, active by duration).
 * - surveys: 10 % soft-deleted over 30 days ago (hard deletion due), 10 % past their deletion
 *   date (soft deletion due), 10 % soft-deleted recently, 60 % deletion far ahead (no warning
 *   due), 10 % never scheduled; an active legal hold on 2 %, a removed one on 1 %.
 * - survey_responses: 10 per survey. survey_progress: half expired (by expires_at, or stale
 *   without one), the other half live, on every survey; authenticated, anonymous and token-based
 *   in thirds.
 */
import type { BenchDatabase } from './database.js';
import { analyze, loadSession } from './database.js';
import { DialectSql } from './sql.js';

export interface SeedSizes {
  cases: number;
  surveys: number;
  responses: number;
  progress: number;
}

/** The issue's sizes at scale 1. */
export function sizesAt(scale: number): SeedSizes {
  const r = (n: number) => Math.max(1, Math.round(n * scale));
  return { cases: r(1_000_000), surveys: r(200_000), responses: r(2_000_000), progress: r(2_000_000) };
}

const DAY = 86_400;
const HOUR = 3_600;

export async function seedCases(db: BenchDatabase, now: Date, count: number): Promise<void> {
  const s = new DialectSql(db.dialect, now);
  const mod = (k: number) => `(n % ${k})`;
  await db.knex.raw(`
    INSERT INTO cases (id, reference, title, status, contact_name, contact_email,
      scheduled_release_date, actual_release_date, scheduled_email_date, actual_email_sent_date,
      hold_start_date, hold_end_date, hold_duration_days, created_at, updated_at)
    SELECT n,
      ${s.concat(`'CASE-'`, 'n')},
      ${s.concat(`'Case number '`, 'n')},
      CASE WHEN ${mod(2)} = 0 THEN 10 WHEN ${mod(4)} = 1 THEN 15 ELSE 20 END,
      ${s.concat(`'Client '`, 'n')},
      CASE WHEN ${mod(50)} = 0 THEN NULL ELSE ${s.concat(`'client'`, 'n', `'@example.test'`)} END,
      CASE WHEN ${mod(17)} = 0 THEN NULL ELSE ${s.dayPlus(`${mod(90)} - 60`)} END,
      CASE WHEN ${mod(10)} = 0 THEN ${s.instantPlus(`-${DAY} - ${mod(1000)} * 60`)} ELSE NULL END,
      ${s.dayPlus(`(n * 7) % 90 - 60`)},
      CASE WHEN ${mod(3)} = 0 THEN ${s.instantPlus(`-${DAY} - ${mod(997)} * 60`)} ELSE NULL END,
      CASE ${mod(20)} WHEN 0 THEN ${s.dayPlus('-5')} WHEN 1 THEN ${s.dayPlus('-10')} WHEN 2 THEN ${s.dayPlus('-1')}
        WHEN 3 THEN ${s.dayPlus('-30')} WHEN 4 THEN ${s.dayPlus('-3')} ELSE NULL END,
      CASE ${mod(20)} WHEN 0 THEN ${s.dayPlus('5')} WHEN 3 THEN ${s.dayPlus('-20')} ELSE NULL END,
      CASE ${mod(20)} WHEN 1 THEN 5 WHEN 4 THEN 10 ELSE NULL END,
      ${s.instantPlus(`-100 * ${DAY} - ${mod(5000)} * ${HOUR}`)},
      ${s.instantPlus(`-100 * ${DAY} - ${mod(5000)} * ${HOUR}`)}
    FROM ${s.numbers(count)}`);
  await fixSequence(db, 'cases', count);
}

/** Cases that are all due for their notification email today (for the mail benchmark). */
export async function seedMailCases(db: BenchDatabase, now: Date, count: number): Promise<void> {
  const s = new DialectSql(db.dialect, now);
  await db.knex.raw(`
    INSERT INTO cases (id, reference, title, status, contact_name, contact_email,
      scheduled_email_date, created_at, updated_at)
    SELECT n, ${s.concat(`'MAIL-'`, 'n')}, ${s.concat(`'Case number '`, 'n')}, 10,
      ${s.concat(`'Client '`, 'n')}, ${s.concat(`'client'`, 'n', `'@example.test'`)},
      ${s.dayPlus('-(n % 5)')}, ${s.instantPlus(`-${DAY}`)}, ${s.instantPlus(`-${DAY}`)}
    FROM ${s.numbers(count)}`);
  await fixSequence(db, 'cases', count);
}

export async function seedSurveys(db: BenchDatabase, now: Date, sizes: Pick<SeedSizes, 'surveys' | 'responses' | 'progress'>): Promise<void> {
  const s = new DialectSql(db.dialect, now);
  const mod = (k: number) => `(n % ${k})`;
  const S = sizes.surveys;
  await db.knex.raw(`
    INSERT INTO surveys (id, name, owner_email, owner_name, retention_months, closed_at, deletion_date, deleted_at, created_at, updated_at)
    SELECT n, ${s.concat(`'Survey '`, 'n')}, ${s.concat(`'owner'`, `n % 997`, `'@example.test'`)}, ${s.concat(`'Owner '`, `n % 997`)}, 6,
      CASE WHEN ${mod(10)} = 9 THEN NULL ELSE ${s.instantPlus(`-200 * ${DAY}`)} END,
      CASE ${mod(10)}
        WHEN 0 THEN ${s.instantPlus(`-(32 + ${mod(60)}) * ${DAY}`)}
        WHEN 1 THEN ${s.instantPlus(`-(1 + ${mod(20)}) * ${HOUR}`)}
        WHEN 2 THEN ${s.instantPlus(`-(2 + ${mod(25)}) * ${DAY}`)}
        WHEN 9 THEN NULL
        ELSE ${s.instantPlus(`(60 + ${mod(300)}) * ${DAY}`)} END,
      CASE ${mod(10)}
        WHEN 0 THEN ${s.instantPlus(`-(31 + ${mod(60)}) * ${DAY}`)}
        WHEN 2 THEN ${s.instantPlus(`-(1 + ${mod(25)}) * ${DAY}`)}
        ELSE NULL END,
      ${s.instantPlus(`-400 * ${DAY}`)}, ${s.instantPlus(`-200 * ${DAY}`)}
    FROM ${s.numbers(S)}`);
  await fixSequence(db, 'surveys', S);

  await db.knex.raw(`
    INSERT INTO survey_legal_holds (survey_id, reason, placed_at, removed_at)
    SELECT n, 'litigation hold', ${s.instantPlus(`-300 * ${DAY}`)},
      CASE WHEN ${mod(50)} = 10 THEN ${s.instantPlus(`-10 * ${DAY}`)} ELSE NULL END
    FROM ${s.numbers(S)} WHERE ${mod(50)} IN (0, 1, 10)`);

  await db.knex.raw(`
    INSERT INTO survey_responses (id, survey_id, submitted_at, payload)
    SELECT n, ((n - 1) % ${S}) + 1, ${s.instantPlus(`-250 * ${DAY} + ${mod(1000)} * ${HOUR}`)},
      ${s.concat(`'{"q1":"answer '`, 'n', `'","q2":'`, mod(5), `',"q3":"some free text a respondent typed"}'`)}
    FROM ${s.numbers(sizes.responses)}`);
  await fixSequence(db, 'survey_responses', sizes.responses);

  await seedProgress(db, now, sizes.progress, S);
  await analyze(db, ['surveys', 'survey_legal_holds', 'survey_responses', 'survey_progress']);
}

/**
 * survey_progress rows spread over surveys 1..surveyCount, four consecutive rows (one of each
 * expiry kind) per survey, so every survey has live and expired drafts; half expired.
 */
export async function seedProgress(db: BenchDatabase, now: Date, count: number, surveyCount: number): Promise<void> {
  const s = new DialectSql(db.dialect, now);
  const mod = (k: number) => `(n % ${k})`;
  await db.knex.raw(`
    INSERT INTO survey_progress (id, survey_id, user_id, session_key, access_token, data, updated_at, expires_at)
    SELECT n, (${s.intDiv('n - 1', '4')} % ${surveyCount}) + 1,
      CASE WHEN ${mod(3)} = 0 THEN n ELSE NULL END,
      CASE WHEN ${mod(3)} = 1 THEN ${s.concat(`'sess'`, 'n')} ELSE NULL END,
      CASE WHEN ${mod(3)} = 2 THEN ${s.concat(`'tok'`, 'n')} ELSE NULL END,
      '{"page":3,"answers":{"q1":"draft"}}',
      CASE ${mod(4)}
        WHEN 0 THEN ${s.instantPlus(`-(2 + ${mod(500)}) * ${HOUR}`)}
        WHEN 1 THEN ${s.instantPlus(`-(1 + ${mod(48)}) * ${HOUR}`)}
        WHEN 2 THEN ${s.instantPlus(`-(31 + ${mod(60)}) * ${DAY}`)}
        ELSE ${s.instantPlus(`-${mod(29)} * ${DAY} - ${HOUR}`)} END,
      CASE ${mod(4)}
        WHEN 0 THEN ${s.instantPlus(`-(1 + ${mod(500)}) * ${HOUR}`)}
        WHEN 1 THEN ${s.instantPlus(`(1 + ${mod(500)}) * ${HOUR}`)}
        ELSE NULL END
    FROM ${s.numbers(count)}`);
  await fixSequence(db, 'survey_progress', count);
}

/** Everything the four batch jobs read, at the given sizes. */
export async function seedAll(db: BenchDatabase, now: Date, sizes: SeedSizes): Promise<void> {
  await loadSession(db, true);
  try {
    await seedCases(db, now, sizes.cases);
    await analyze(db, ['cases']);
    await seedSurveys(db, now, sizes);
  } finally {
    await loadSession(db, false);
  }
}

/** Explicit ids leave PostgreSQL's sequence behind; later inserts must not collide. */
async function fixSequence(db: BenchDatabase, table: string, max: number): Promise<void> {
  if (db.dialect === 'postgres' && max > 0) {
    await db.knex.raw(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), ${Math.floor(max)})`);
  }
}
