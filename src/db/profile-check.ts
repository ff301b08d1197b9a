/**
 * The selected profile against the live schema (doctor): every table and column a job uses
 * under the profile exists, with a type that can hold what the job reads or writes. Also what
 * each job touches, for the operator to read before the first run.
 */
import type { Knex } from 'knex';
import type { Schema } from '../profiles/index.js';

/** What a column must hold. `any`: the job only tests it for null / empty. */
export type ColumnKind = 'id' | 'int' | 'text' | 'instant' | 'day' | 'any';

export interface ExpectedColumn {
  table: string;
  column: string;
  kind: ColumnKind;
}

const COMPATIBLE: Record<ColumnKind, RegExp> = {
  id: /int|serial|numeric|decimal/i,
  int: /int|numeric|decimal/i,
  text: /char|text|clob|string/i,
  // SQLite keeps instants and days as text (docs/architecture.md, Decisions).
  instant: /timestamp|datetime|text/i,
  day: /^date$|text/i,
  any: /./,
};

/** Every column the jobs use under this schema's profile (the application's tables only). */
export function expectedColumns(schema: Schema): ExpectedColumn[] {
  const p = schema.profile;
  const out: ExpectedColumn[] = [];
  const add = (table: string, cols: Array<[string, ColumnKind]>) => cols.forEach(([column, kind]) => out.push({ table, column, kind }));
  if (p.settings) add(p.settings.table, [['key', 'text'], ['value', 'text'], ['updated_at', 'instant']]);
  if (p.cases) {
    const c = p.cases;
    // A status release rule's status is a word ('completed'); the status jobs' statuses are integers.
    add(c.table, [[c.id, c.idKind === 'string' ? 'text' : 'id'], [c.status, c.statusRelease ? 'text' : 'int']]);
    if (c.reference) add(c.table, [[c.reference, 'text']]);
    if (c.updatedAt) add(c.table, [[c.updatedAt, 'instant']]);
    if (c.activeColumn) add(c.table, [[c.activeColumn, 'int']]);
    for (const stamp of new Set(Object.values(c.statusTimestamps))) add(c.table, [[stamp, 'instant']]);
    const sr = c.statusRelease;
    if (sr) {
      add(c.table, [['scheduled_release_date', 'instant'], ['actual_release_date', 'instant'], ['actual_email_sent_date', 'instant'], [sr.recipients.via, 'id']]);
      add(c.table, sr.fillNow.map((col): [string, ColumnKind] => [col, 'instant']));
      add(sr.switches.table, [[sr.switches.release, 'any'], [sr.switches.email, 'any']]); // bool, tinyint(1) or integer
      add(sr.recipients.table, [[sr.recipients.id, 'id'], [sr.recipients.email, 'text'], ...(sr.recipients.preferredEmail ? [[sr.recipients.preferredEmail, 'text'] as [string, ColumnKind]] : [])]);
      if (sr.recipients.links) add(sr.recipients.links.table, [[sr.recipients.links.from, 'id'], [sr.recipients.links.to, 'id']]);
    }
    if (c.releases) {
      add(c.table, [
        ['title', 'text'], ['contact_name', 'text'], ['contact_email', 'text'],
        ['scheduled_release_date', 'day'], ['actual_release_date', 'instant'], ['scheduled_email_date', 'day'], ['actual_email_sent_date', 'instant'],
        ['hold_start_date', 'day'], ['hold_end_date', 'day'], ['hold_duration_days', 'int'],
      ]);
    }
  }
  if (p.caseStatusHistory) {
    add(p.caseStatusHistory.table, [['case_id', 'id'], ['from_status', 'int'], ['to_status', 'int'], ['changed_at', 'instant'], ['source', 'text'], ['run_id', 'id']]);
  }
  if (p.surveys) {
    const s = p.surveys;
    add(s.table, [['id', 'id'], ['name', 'text'], ['deletion_date', 'instant'], ['deleted_at', 'instant']]);
    if (s.closedAt) add(s.table, [[s.closedAt, 'instant']]);
    if (s.hardDeletionDate) add(s.table, [[s.hardDeletionDate, 'instant']]);
    if (s.owner.kind === 'columns') {
      add(s.table, [[s.owner.email, 'text']]);
      if (s.owner.name) add(s.table, [[s.owner.name, 'text']]);
    } else {
      add(s.table, [[s.owner.ownerId, 'id']]);
      add(s.owner.table, [[s.owner.id, 'id'], [s.owner.email, 'text']]);
      if (s.owner.name) add(s.owner.table, [[s.owner.name, 'text']]);
    }
  }
  if (p.surveyResponses) add(p.surveyResponses.table, [['id', 'id'], ['survey_id', 'id']]);
  if (p.legalHolds) add(p.legalHolds.table, [['id', 'id'], ['survey_id', 'id'], ['removed_at', 'instant']]);
  if (p.progress) {
    add(p.progress.table, [
      ['id', 'id'], ['survey_id', 'id'], ['user_id', 'id'], ['session_key', 'text'], [p.progress.accessToken, 'any'],
      ['updated_at', 'instant'], ['expires_at', 'instant'],
    ]);
  }
  return out;
}

export interface ColumnProblem {
  table: string;
  column: string;
  problem: 'no-table' | 'no-column' | 'type';
  found?: string;
  expected: ColumnKind;
}

/** The expected columns that are missing or of an incompatible type. */
export async function checkProfileColumns(knex: Knex, schema: Schema): Promise<ColumnProblem[]> {
  const problems: ColumnProblem[] = [];
  const info = new Map<string, Record<string, { type: string }> | null>();
  for (const e of expectedColumns(schema)) {
    if (!info.has(e.table)) {
      info.set(e.table, (await knex.schema.hasTable(e.table)) ? ((await knex(e.table).columnInfo()) as unknown as Record<string, { type: string }>) : null);
    }
    const cols = info.get(e.table);
    if (!cols) {
      if (!problems.some((p) => p.table === e.table && p.problem === 'no-table')) problems.push({ table: e.table, column: '', problem: 'no-table', expected: e.kind });
      continue;
    }
    const col = cols[e.column];
    if (!col) problems.push({ table: e.table, column: e.column, problem: 'no-column', expected: e.kind });
    else if (!COMPATIBLE[e.kind].test(col.type)) problems.push({ table: e.table, column: e.column, problem: 'type', found: col.type, expected: e.kind });
  }
  return problems;
}

/** Per job: the tables it reads and changes under this profile (null: nothing mapped, the job has no work). */
export function jobTouches(schema: Schema): Array<{ job: string; touches: string | null }> {
  const p = schema.profile;
  const own = schema.own;
  const caseJob = p.cases?.releases ? `updates ${p.cases.table}` : null;
  const statusJob = p.cases ? `updates ${p.cases.table}.${p.cases.status}, inserts into ${p.caseStatusHistory?.table ?? own.caseStatusHistory}` : null;
  const s = p.surveys;
  const owner = s ? (s.owner.kind === 'user' ? `owner address from ${s.owner.table}.${s.owner.email}` : `owner address from ${s.table}.${s.owner.email}`) : '';
  const rules = p.rules;
  const sr = p.cases?.statusRelease;
  const added = (inserts: Array<{ table: string }>) => (inserts.length ? `, inserts into ${inserts.map((i) => i.table).join(', ')}` : '');
  const release = sr
    ? `updates ${p.cases!.table}.actual_release_date${sr.fillNow.map((c) => `, ${c}`).join('')} (status ${sr.status}, instant passed)${added(sr.onRelease)}; reads ${sr.switches.table}.${sr.switches.release}`
    : caseJob && `${caseJob}.actual_release_date; reads ${schema.settings.table}`;
  const mail = sr
    ? `updates ${p.cases!.table}.actual_email_sent_date (released, not mailed)${added(sr.onMail)}; recipients from ${sr.recipients.table}${sr.recipients.links ? ` and ${sr.recipients.links.table}` : ''}; reads ${sr.switches.table}.${sr.switches.email}; mail through ${own.emailOutbox}`
    : caseJob && `${caseJob}.actual_email_sent_date; mail through ${own.emailOutbox}`;
  return [
    { job: 'release-scheduled-cases', touches: release },
    { job: 'send-scheduled-emails', touches: mail },
    { job: 'bulk-update-case-status', touches: statusJob },
    { job: 'weekly-paid-update', touches: statusJob },
    { job: 'weekly-pending-payment-update', touches: statusJob },
    {
      job: 'cleanup-survey-progress',
      touches: p.progress
        ? `deletes from ${p.progress.table} (expires_at < now${rules.progressExpiry === 'expired-or-stale' ? ', or updated_at older than' : ', or no expires_at and updated_at older than'} ${rules.progressStaleDays} days)`
        : null,
    },
    {
      job: 'process-data-governance',
      touches:
        s && p.legalHolds
          ? `warns ${rules.surveysEligible === 'closed' ? 'closed ' : ''}surveys of ${s.table} (${owner}; recorded in ${own.deletionWarnings}), ` +
            `soft-deletes them (deleted_at${rules.hardDeletion === 'hard-deletion-date' ? `, ${s.hardDeletionDate}` : ''}), ` +
            (rules.hardDeletionChildren === 'foreign-keys'
              ? `hard-deletes ${s.table} rows with every table referencing them (from the catalog) and ${own.deletionWarnings}`
              : `hard-deletes from ${[p.surveyResponses?.table, p.progress?.table, own.deletionWarnings, p.legalHolds.table, s.table].filter(Boolean).join(', ')}`) +
            `; legal holds in ${p.legalHolds.table}`
          : null,
    },
  ];
}
