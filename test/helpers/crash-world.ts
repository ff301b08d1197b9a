/**
 * A world of cases and surveys in which every job of the crash matrix has work for many batches,
 * and the state a run leaves, read back in a form that two runs can be compared by: ids, run ids,
 * clock times and per-batch details left out, references to cases and surveys spelled by their
 * natural keys (reference, name), per-batch audit rows summed.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../../src/config.js';
import { addDays, DAY_MS, toDbInstant, utcDay } from '../../src/db/time.js';

/** mulberry32: a small seeded generator, so a failing seed replays the same kill moment. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface World {
  caseKey: Map<number, string>;
  surveyKey: Map<number, string>;
}

async function insertId(knex: Knex, table: string, row: Record<string, unknown>): Promise<number> {
  const [r] = await knex(table).insert(row).returning('id');
  return typeof r === 'object' ? Number((r as { id: number }).id) : Number(r);
}

export async function seedWorld(knex: Knex, dialect: Dialect, now: Date, scale: number): Promise<World> {
  const at = (ms: number) => toDbInstant(dialect, new Date(now.getTime() + ms));
  const today = utcDay(now);
  const world: World = { caseKey: new Map(), surveyKey: new Map() };
  for (let i = 0; i < scale; i++) {
    const reference = `K-${String(i).padStart(4, '0')}`;
    const held = i % 5 === 0;
    const id = await insertId(knex, 'cases', {
      reference,
      title: `Case ${i}`,
      status: i % 4 === 3 ? 15 : 10,
      contact_name: `Contact ${i}`,
      contact_email: i % 7 === 6 ? null : `contact${i}@example.test`,
      scheduled_release_date: addDays(today, -(i % 3)),
      scheduled_email_date: addDays(today, -(i % 2)),
      hold_start_date: held ? addDays(today, -2) : null,
      hold_end_date: held ? addDays(today, 3) : null,
    });
    world.caseKey.set(id, reference);
  }
  const kinds = [20 * DAY_MS, 5 * DAY_MS, -DAY_MS, null, 10 * 3_600_000];
  for (let i = 0; i < scale; i++) {
    const kind = i % kinds.length;
    const name = `S-${String(i).padStart(4, '0')}`;
    const purge = kind === 3;
    const id = await insertId(knex, 'surveys', {
      name,
      owner_email: `owner${i}@example.test`,
      owner_name: `Owner ${i}`,
      retention_months: 6,
      closed_at: at(-200 * DAY_MS),
      deletion_date: purge ? at(-40 * DAY_MS) : at(kinds[kind]!),
      deleted_at: purge ? at(-31 * DAY_MS) : null,
    });
    world.surveyKey.set(id, name);
    for (let r = 0; r < 2; r++) await knex('survey_responses').insert({ survey_id: id, submitted_at: at(-(60 + r) * DAY_MS), payload: '{"a":1}' });
    const progress = [-DAY_MS, -2 * DAY_MS, -3_600_000, 6 * DAY_MS].map((exp, p) => ({
      survey_id: id, session_key: `${name}-p${p}`, data: '{}', updated_at: at(-3 * DAY_MS), expires_at: at(exp),
    }));
    await knex('survey_progress').insert(progress);
  }
  return world;
}

/** Columns whose values depend on the run, the clock or the batch split, not on what changed. */
const VOLATILE = new Set(['id', 'run_id', 'created_at', 'updated_at', 'changed_at', 'message_id', 'attempts', 'last_error', 'details', 'claimed_at', 'body_text', 'body_html']);
/** Set from the clock when something happened: only whether they are set can be compared. */
const CLOCK_STAMPS = new Set(['sent_at', 'actual_email_sent_date']);
const TABLES = ['cases', 'case_status_history', 'surveys', 'survey_responses', 'survey_progress', 'survey_legal_holds', 'survey_deletion_warnings', 'email_outbox', 'audit_log'];

/** The state of the business tables as sorted lines, comparable between two runs on two seedings. */
export async function worldState(knex: Knex, world: World): Promise<Record<string, string[]>> {
  const state: Record<string, string[]> = {};
  for (const table of TABLES) {
    const rows: Array<Record<string, unknown>> = await knex(table).select('*');
    let batchDeleted = 0;
    const lines: string[] = [];
    for (const row of rows) {
      if (table === 'audit_log' && row.action === 'survey_progress.deleted') {
        // One audit row per batch: only the total is the same whatever the batch split was.
        batchDeleted += Number(JSON.parse(String(row.details)).deleted);
        continue;
      }
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(row)) {
        if (VOLATILE.has(k)) continue;
        let value: unknown = v instanceof Date ? v.toISOString() : v;
        if (CLOCK_STAMPS.has(k)) value = v === null ? null : 'set';
        // Outbox keys name a case or survey by id: spell it by its natural key.
        if (k === 'dedupe_key' && typeof v === 'string') {
          value = v.replace(/^([a-z-]+):(\d+)/, (_m, kind: string, id: string) => `${kind}:${(kind.startsWith('survey') ? world.surveyKey : world.caseKey).get(Number(id)) ?? id}`);
        }
        if (k === 'case_id' || (k === 'subject_id' && row.subject_type === 'case')) value = world.caseKey.get(Number(v)) ?? v;
        if (k === 'survey_id' || (k === 'subject_id' && row.subject_type === 'survey')) value = world.surveyKey.get(Number(v)) ?? v;
        out[k] = value;
      }
      lines.push(JSON.stringify(out, Object.keys(out).sort()));
    }
    if (batchDeleted) lines.push(`survey_progress.deleted total ${batchDeleted}`);
    state[table] = lines.sort();
  }
  return state;
}
