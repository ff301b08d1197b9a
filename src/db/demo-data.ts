/**
 * Example rows for `ontime demo`, dated relative to `now`, so that every job finds something to
 * do: cases due for release and email (some held back by each kind of hold), cases in statuses
 * 10 and 15, surveys approaching deletion (30, 7 and 1 day warnings), past deletion, soft-deleted
 * long ago, one under legal hold, with responses and progress rows.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../config.js';
import { addDays, DAY_MS, toDbInstant, utcDay } from './time.js';
import { ownTables, schemaOf } from './schema.js';

export interface DemoCounts {
  cases: number;
  surveys: number;
  responses: number;
  legalHolds: number;
  progress: number;
  /** Case emails sent 40 days ago: prune-history clears their recipient and text. */
  oldEmails: number;
}

async function insertId(db: Knex, table: string, row: Record<string, unknown>): Promise<number> {
  const [r] = await db(table).insert(row).returning('id');
  return typeof r === 'object' ? Number((r as { id: number }).id) : Number(r);
}

/** The system_settings row that marks a database as the demo's own, so the demo may replace it. */
export const DEMO_MARKER_KEY = 'ontime.demo';

export async function loadDemoData(db: Knex, dialect: Dialect, now: Date): Promise<DemoCounts> {
  const at = (msFromNow: number) => toDbInstant(dialect, new Date(now.getTime() + msFromNow));
  const today = utcDay(now);
  const day = (n: number) => addDays(today, n);
  const stamp = at(-40 * DAY_MS);

  const cases: Array<Record<string, unknown>> = [
    { reference: 'DEMO-001', title: 'Release due yesterday, email due today', status: 10, contact_email: 'ada@example.test', scheduled_release_date: day(-1), scheduled_email_date: day(0) },
    { reference: 'DEMO-002', title: 'Due today, but on hold until next week (hold end date)', status: 10, contact_email: 'bob@example.test', scheduled_release_date: day(0), scheduled_email_date: day(0), hold_start_date: day(-2), hold_end_date: day(5) },
    { reference: 'DEMO-003', title: 'Due, on hold for 3 days (hold duration)', status: 15, contact_email: 'cy@example.test', scheduled_release_date: day(-1), hold_start_date: day(-1), hold_duration_days: 3 },
    { reference: 'DEMO-004', title: 'Due, on an open-ended hold', status: 15, contact_email: 'di@example.test', scheduled_release_date: day(-3), scheduled_email_date: day(-3), hold_start_date: day(-10) },
    { reference: 'DEMO-005', title: 'Hold ended yesterday: released now', status: 10, contact_email: 'ed@example.test', scheduled_release_date: day(-4), hold_start_date: day(-10), hold_end_date: day(-1) },
    { reference: 'DEMO-006', title: 'Release next week: not due yet', status: 10, contact_email: 'flo@example.test', scheduled_release_date: day(7), scheduled_email_date: day(7) },
    { reference: 'DEMO-007', title: 'Email due, but no contact address (reported, skipped)', status: 15, scheduled_email_date: day(-1) },
    { reference: 'DEMO-008', title: 'Already released last week', status: 20, contact_email: 'gus@example.test', scheduled_release_date: day(-7), actual_release_date: at(-7 * DAY_MS) },
  ];
  for (const c of cases) {
    await db('cases').insert({ contact_name: null, created_at: stamp, updated_at: stamp, ...c, contact_email: c.contact_email ?? null });
  }

  const survey = (name: string, deletion: number | null, deleted: number | null) =>
    insertId(db, 'surveys', {
      name,
      owner_email: 'research-owner@example.test',
      owner_name: 'Research Owner',
      retention_months: 6,
      closed_at: at(-200 * DAY_MS),
      deletion_date: deletion === null ? null : at(deletion),
      deleted_at: deleted === null ? null : at(deleted),
      created_at: stamp,
      updated_at: stamp,
    });
  const ids = {
    warn30: await survey('Customer satisfaction 2025 (deletion in 20 days: 30-day warning)', 20 * DAY_MS, null),
    warn7: await survey('Onboarding feedback (deletion in 5 days: 7-day warning)', 5 * DAY_MS, null),
    warn1: await survey('Event poll (deletion in 10 hours: 1-day warning)', 10 * 3_600_000, null),
    due: await survey('Old pilot study (deletion date passed: soft deletion)', -DAY_MS, null),
    purge: await survey('Archived study (soft-deleted 31 days ago: hard deletion)', -40 * DAY_MS, -31 * DAY_MS),
    held: await survey('Litigation survey (deletion date passed, under legal hold)', -2 * DAY_MS, null),
    live: await survey('Staff pulse (no deletion date)', null, null),
  };
  await db('survey_legal_holds').insert({ survey_id: ids.held, reason: 'Demo: litigation hold', placed_at: at(-30 * DAY_MS), removed_at: null });

  let responses = 0;
  for (const sid of [ids.warn30, ids.due, ids.purge, ids.held, ids.live]) {
    for (let i = 0; i < 3; i++) {
      await db('survey_responses').insert({ survey_id: sid, submitted_at: at(-(60 + i) * DAY_MS), payload: JSON.stringify({ answer: i + 1 }) });
      responses += 1;
    }
  }

  const progress: Array<Record<string, unknown>> = [
    { survey_id: ids.live, user_id: 7, updated_at: at(-2 * DAY_MS), expires_at: at(-DAY_MS) }, // expired
    { survey_id: ids.live, session_key: 'demo-session-1', updated_at: at(-45 * DAY_MS), expires_at: null }, // stale, anonymous
    { survey_id: ids.warn30, access_token: 'demo-token-1', updated_at: at(-3 * DAY_MS), expires_at: at(-3_600_000) }, // expired, token
    { survey_id: ids.live, user_id: 8, updated_at: at(-DAY_MS), expires_at: at(6 * DAY_MS) }, // still valid
    { survey_id: ids.live, session_key: 'demo-session-2', updated_at: at(-3 * DAY_MS), expires_at: null }, // recent
  ];
  for (const p of progress) {
    await db('survey_progress').insert({ user_id: null, session_key: null, access_token: null, data: '{"page":2}', ...p });
  }

  const oldEmails = [1, 2].map((n) => ({
    dedupe_key: `demo-old-email:${n}`,
    kind: 'case-notification',
    to_address: `old-contact-${n}@example.test`,
    subject: `Case DEMO-OLD-${n}`,
    body_text: 'Your case is ready.',
    status: 'sent',
    attempts: 1,
    message_id: `<demo-old-${n}@example.test>`,
    created_at: at(-40 * DAY_MS),
    updated_at: at(-40 * DAY_MS),
    sent_at: at(-40 * DAY_MS),
  }));
  await db(ownTables(db).emailOutbox).insert(oldEmails);

  await db(schemaOf(db).settings.table).insert({ key: DEMO_MARKER_KEY, value: 'created by ontime demo', updated_at: at(0) });
  return { cases: cases.length, surveys: Object.keys(ids).length, responses, legalHolds: 1, progress: progress.length, oldEmails: oldEmails.length };
}
