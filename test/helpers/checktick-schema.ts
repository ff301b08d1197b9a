/**
 * CheckTick's own tables (eatyourpeas/checktick, Django 5.2), written here from its models in
 * checktick_app/surveys/models.py: the columns ontime's jobs touch, and every table with a
 * foreign key to the survey, directly or through its children. Written the way Django's schema
 * editor writes them: `<name>_id` columns, foreign keys with no ON DELETE action (Django cascades
 * in Python, not in SQL), `DEFERRABLE INITIALLY DEFERRED` on PostgreSQL and SQLite, immediate on
 * MariaDB (InnoDB cannot defer). BigAutoField keys except auth_user (AutoField) and the models
 * that declare UUID keys; PlatformKeyVersion's key is its `version` string.
 *
 * Only columns the tests or the jobs read are here; the omitted ones (JSON answers, encrypted key
 * material, labels) have defaults or are nullable in CheckTick, so inserts without them are real.
 */
import type { Knex } from 'knex';
import type { Dialect } from '../../src/config.js';

type ColumnType = 'pk' | 'intpk' | 'int' | 'bigint' | 'uuid' | 'uuidpk' | 'text' | 'str' | 'ts' | 'bool' | 'keystr';

interface Column {
  name: string;
  type: ColumnType;
  nullable?: boolean;
  unique?: boolean;
  /** `table` or `table.column` (default column: id). */
  references?: string;
}

interface Table {
  name: string;
  columns: Column[];
  uniqueTogether?: string[][];
}

const col = (name: string, type: ColumnType, extra: Partial<Column> = {}): Column => ({ name, type, ...extra });
const fk = (name: string, references: string, extra: Partial<Column> = {}): Column => ({
  name,
  type: references === 'auth_user' ? 'int' : 'bigint',
  references,
  ...extra,
});
const uuidFk = (name: string, references: string, extra: Partial<Column> = {}): Column => ({ name, type: 'uuid', references, ...extra });
const userFk = (name: string, nullable = true): Column => fk(name, 'auth_user', { nullable });
const id = col('id', 'pk');
const uuidId = col('id', 'uuidpk');

/** In creation order: every table after the tables it references. */
export const CHECKTICK_TABLES: readonly Table[] = [
  { name: 'auth_user', columns: [col('id', 'intpk'), col('username', 'str', { unique: true }), col('email', 'str')] },
  { name: 'surveys_questiongroup', columns: [id, col('name', 'str'), userFk('owner_id', false)] },
  { name: 'surveys_platformkeyversion', columns: [col('version', 'keystr'), col('created_at', 'ts')] },
  {
    name: 'surveys_survey',
    columns: [
      id,
      userFk('owner_id', false),
      col('name', 'str'),
      col('slug', 'str', { unique: true }),
      col('status', 'str'),
      col('created_at', 'ts'),
      col('language', 'str'),
      col('is_original', 'bool'),
      fk('translated_from_id', 'surveys_survey', { nullable: true }),
      col('closed_at', 'ts', { nullable: true }),
      userFk('closed_by_id'),
      col('retention_months', 'int'),
      col('deletion_date', 'ts', { nullable: true }),
      col('deleted_at', 'ts', { nullable: true }),
      col('hard_deletion_date', 'ts', { nullable: true }),
      userFk('transferred_from_id'),
      userFk('suspended_by_id'),
    ],
  },
  // Survey.question_groups (ManyToManyField): Django's through table.
  {
    name: 'surveys_survey_question_groups',
    columns: [id, fk('survey_id', 'surveys_survey'), fk('questiongroup_id', 'surveys_questiongroup')],
    uniqueTogether: [['survey_id', 'questiongroup_id']],
  },
  {
    name: 'surveys_surveyquestion',
    columns: [id, fk('survey_id', 'surveys_survey'), fk('group_id', 'surveys_questiongroup', { nullable: true }), col('text', 'text'), col('order', 'int')],
  },
  { name: 'surveys_questionimage', columns: [id, fk('question_id', 'surveys_surveyquestion'), col('image', 'str')] },
  {
    name: 'surveys_surveyquestioncondition',
    columns: [
      id,
      fk('question_id', 'surveys_surveyquestion'),
      fk('target_question_id', 'surveys_surveyquestion', { nullable: true }),
      col('operator', 'str'),
    ],
  },
  {
    name: 'surveys_surveymembership',
    columns: [id, fk('survey_id', 'surveys_survey'), userFk('user_id', false), col('role', 'str')],
    uniqueTogether: [['survey_id', 'user_id']],
  },
  {
    name: 'surveys_surveyaccesstoken',
    columns: [
      id,
      fk('survey_id', 'surveys_survey'),
      col('token', 'str', { unique: true }),
      userFk('created_by_id', false),
      col('created_at', 'ts'),
      userFk('used_by_id'),
    ],
  },
  {
    name: 'surveys_surveyresponse',
    columns: [
      id,
      fk('survey_id', 'surveys_survey'),
      userFk('submitted_by_id'),
      fk('access_token_id', 'surveys_surveyaccesstoken', { nullable: true, unique: true }),
      col('submitted_at', 'ts'),
      userFk('frozen_by_id'),
    ],
  },
  {
    name: 'surveys_datasubjectrequest',
    columns: [
      id,
      fk('response_id', 'surveys_surveyresponse', { nullable: true }),
      fk('survey_id', 'surveys_survey'),
      col('request_type', 'str'),
      userFk('resolved_by_id'),
      userFk('created_by_id'),
    ],
  },
  {
    name: 'surveys_responsefreezelog',
    columns: [
      id,
      fk('response_id', 'surveys_surveyresponse'),
      userFk('performed_by_id'),
      fk('data_subject_request_id', 'surveys_datasubjectrequest', { nullable: true }),
      col('action', 'str'),
    ],
  },
  {
    name: 'surveys_surveyprogress',
    columns: [
      id,
      fk('survey_id', 'surveys_survey'),
      userFk('user_id'),
      col('session_key', 'str', { nullable: true }),
      fk('access_token_id', 'surveys_surveyaccesstoken', { nullable: true }),
      col('created_at', 'ts'),
      col('updated_at', 'ts'),
      col('expires_at', 'ts'),
    ],
    uniqueTogether: [
      ['survey_id', 'user_id'],
      ['survey_id', 'session_key'],
    ],
  },
  {
    name: 'surveys_auditlog',
    columns: [id, userFk('actor_id'), fk('survey_id', 'surveys_survey', { nullable: true }), userFk('target_user_id'), col('action', 'str'), col('created_at', 'ts')],
  },
  { name: 'surveys_llmconversationsession', columns: [uuidId, fk('survey_id', 'surveys_survey'), userFk('user_id', false)] },
  {
    name: 'surveys_collectiondefinition',
    columns: [id, fk('survey_id', 'surveys_survey'), col('key', 'str'), col('name', 'str'), fk('parent_id', 'surveys_collectiondefinition', { nullable: true })],
    uniqueTogether: [['survey_id', 'key']],
  },
  {
    name: 'surveys_collectionitem',
    columns: [
      id,
      fk('collection_id', 'surveys_collectiondefinition'),
      fk('group_id', 'surveys_questiongroup', { nullable: true }),
      fk('child_collection_id', 'surveys_collectiondefinition', { nullable: true }),
      col('order', 'int'),
    ],
  },
  { name: 'surveys_dataexport', columns: [uuidId, fk('survey_id', 'surveys_survey'), userFk('created_by_id'), col('created_at', 'ts')] },
  {
    name: 'surveys_legalhold',
    columns: [
      id,
      fk('survey_id', 'surveys_survey', { unique: true }),
      userFk('placed_by_id'),
      col('placed_at', 'ts'),
      col('reason', 'text'),
      col('authority', 'str'),
      userFk('removed_by_id'),
      col('removed_at', 'ts', { nullable: true }),
    ],
  },
  {
    name: 'surveys_datacustodian',
    columns: [id, userFk('user_id', false), fk('survey_id', 'surveys_survey'), userFk('granted_by_id'), userFk('revoked_by_id')],
  },
  {
    name: 'surveys_dataretentionextension',
    columns: [id, fk('survey_id', 'surveys_survey'), userFk('requested_by_id'), userFk('approved_by_id')],
  },
  {
    name: 'surveys_recoveryrequest',
    columns: [
      uuidId,
      userFk('user_id', false),
      fk('survey_id', 'surveys_survey'),
      userFk('primary_approver_id'),
      userFk('secondary_approver_id'),
      userFk('rejected_by_id'),
      userFk('cancelled_by_id'),
      userFk('executed_by_id'),
      col('status', 'str'),
    ],
  },
  { name: 'surveys_identityverification', columns: [uuidId, uuidFk('recovery_request_id', 'surveys_recoveryrequest'), userFk('verified_by_id')] },
  { name: 'surveys_recoveryauditentry', columns: [uuidId, uuidFk('recovery_request_id', 'surveys_recoveryrequest'), col('event_type', 'str')] },
  {
    name: 'surveys_usersurveykekescrow',
    columns: [
      id,
      userFk('user_id', false),
      fk('survey_id', 'surveys_survey'),
      { name: 'platform_key_version_id', type: 'str', references: 'surveys_platformkeyversion.version' },
      userFk('last_recovered_by_id'),
    ],
    uniqueTogether: [['user_id', 'survey_id']],
  },
];

/** Every table that references surveys_survey, directly or through its children (what discovery must find). */
export const CHECKTICK_SURVEY_DEPENDENTS: readonly string[] = CHECKTICK_TABLES.map((t) => t.name).filter(
  (n) => !['auth_user', 'surveys_questiongroup', 'surveys_platformkeyversion', 'surveys_survey'].includes(n),
);

const TYPES: Record<Dialect, Record<ColumnType, string>> = {
  postgres: {
    pk: 'bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY',
    intpk: 'integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY',
    int: 'integer',
    bigint: 'bigint',
    uuid: 'uuid',
    uuidpk: 'uuid PRIMARY KEY',
    text: 'text',
    str: 'varchar(255)',
    keystr: 'varchar(20) PRIMARY KEY',
    ts: 'timestamp with time zone',
    bool: 'boolean',
  },
  mysql: {
    pk: 'bigint AUTO_INCREMENT PRIMARY KEY',
    intpk: 'integer AUTO_INCREMENT PRIMARY KEY',
    int: 'integer',
    bigint: 'bigint',
    uuid: 'char(32)',
    uuidpk: 'char(32) PRIMARY KEY',
    text: 'longtext',
    str: 'varchar(255)',
    keystr: 'varchar(20) PRIMARY KEY',
    ts: 'datetime(6)',
    bool: 'bool',
  },
  sqlite: {
    pk: 'integer NOT NULL PRIMARY KEY AUTOINCREMENT',
    intpk: 'integer NOT NULL PRIMARY KEY AUTOINCREMENT',
    int: 'integer',
    bigint: 'bigint',
    uuid: 'char(32)',
    uuidpk: 'char(32) NOT NULL PRIMARY KEY',
    text: 'text',
    str: 'varchar(255)',
    keystr: 'varchar(20) NOT NULL PRIMARY KEY',
    ts: 'datetime',
    bool: 'bool',
  },
};

function quote(dialect: Dialect, name: string): string {
  return dialect === 'mysql' ? `\`${name}\`` : `"${name}"`;
}

/** One CREATE TABLE statement per table, foreign keys inline (as Django writes them on SQLite and in its PostgreSQL/MySQL migrations' final state). */
export function checkTickDdl(dialect: Dialect): string[] {
  const q = (n: string) => quote(dialect, n);
  const deferred = dialect === 'mysql' ? '' : ' DEFERRABLE INITIALLY DEFERRED';
  return CHECKTICK_TABLES.map((t) => {
    const parts: string[] = [];
    for (const c of t.columns) {
      const type = TYPES[dialect][c.type];
      const isKey = c.type === 'pk' || c.type === 'intpk' || c.type === 'uuidpk' || c.type === 'keystr';
      parts.push(`${q(c.name)} ${type}${isKey ? '' : c.nullable ? ' NULL' : ' NOT NULL'}${c.unique ? ' UNIQUE' : ''}`);
    }
    for (const c of t.columns) {
      if (!c.references) continue;
      const [refTable, refColumn = 'id'] = c.references.split('.');
      parts.push(`CONSTRAINT ${q(`${t.name}_${c.name}_fk`.slice(0, 60))} FOREIGN KEY (${q(c.name)}) REFERENCES ${q(refTable)} (${q(refColumn)})${deferred}`);
    }
    for (const u of t.uniqueTogether ?? []) parts.push(`UNIQUE (${u.map(q).join(', ')})`);
    return `CREATE TABLE ${q(t.name)} (\n  ${parts.join(',\n  ')}\n)${dialect === 'mysql' ? ' ENGINE=InnoDB' : ''}`;
  });
}

export async function createCheckTickSchema(knex: Knex, dialect: Dialect): Promise<void> {
  for (const sql of checkTickDdl(dialect)) await knex.raw(sql);
}

/** Drop in reverse order (children first), for a test that wants a fresh schema. */
export async function dropCheckTickSchema(knex: Knex): Promise<void> {
  for (const t of [...CHECKTICK_TABLES].reverse()) await knex.schema.dropTableIfExists(t.name);
}

let uuidCounter = 0;
function uuid(dialect: Dialect): string {
  uuidCounter += 1;
  const hex = `${Date.now().toString(16).padStart(12, '0')}${uuidCounter.toString(16).padStart(20, '0')}`.slice(-32);
  return dialect === 'postgres' ? `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}` : hex;
}

async function insertId(knex: Knex, table: string, row: Record<string, unknown>): Promise<number> {
  const [r] = await knex(table).insert(row).returning('id');
  // mysql: knex returns the insert id as a number; pg/sqlite: an object (or a number on old drivers).
  return Number(typeof r === 'object' && r !== null ? (r as { id: unknown }).id : r);
}

export interface SeededSurvey {
  surveyId: number;
  ownerId: number;
  /** Rows written per table for this survey (its own row included under surveys_survey). */
  rows: Record<string, number>;
}

export interface SeedOptions {
  /** Key for usernames, slugs and tokens, unique per seeded survey. */
  key: string;
  translatedFrom?: number | null;
  hardDeletionDate?: Date | null;
  closedAt?: Date | null;
  /** Legal hold row: 'active', 'removed' (removed_at set) or none. */
  hold?: 'active' | 'removed' | null;
}

/**
 * One survey with children in every table of CHECKTICK_SURVEY_DEPENDENTS (two levels deep where
 * CheckTick has them: images and conditions under questions, freeze logs under responses and
 * subject requests, verifications and audit entries under recovery requests, nested collections).
 */
export async function seedCheckTickSurvey(knex: Knex, dialect: Dialect, o: SeedOptions): Promise<SeededSurvey> {
  const now = new Date('2026-11-01T00:00:00Z');
  const rows: Record<string, number> = {};
  const add = async (table: string, row: Record<string, unknown>, withId = true): Promise<number> => {
    rows[table] = (rows[table] ?? 0) + 1;
    if (!withId) {
      await knex(table).insert(row);
      return 0;
    }
    return insertId(knex, table, row);
  };
  const ownerId = await insertId(knex, 'auth_user', { username: `owner-${o.key}`, email: `${o.key}@example.org` });
  const otherId = await insertId(knex, 'auth_user', { username: `member-${o.key}`, email: '' });
  const groupId = await insertId(knex, 'surveys_questiongroup', { name: `group ${o.key}`, owner_id: ownerId });
  const keyVersion = `v-${o.key}`.slice(0, 20);
  await knex('surveys_platformkeyversion').insert({ version: keyVersion, created_at: now });

  const surveyId = await add('surveys_survey', {
    owner_id: ownerId,
    name: `Survey ${o.key}`,
    slug: `survey-${o.key}`,
    status: 'closed',
    created_at: now,
    language: 'en',
    is_original: o.translatedFrom == null,
    translated_from_id: o.translatedFrom ?? null,
    closed_at: o.closedAt === undefined ? now : o.closedAt,
    retention_months: 6,
    deletion_date: now,
    deleted_at: now,
    hard_deletion_date: o.hardDeletionDate === undefined ? now : o.hardDeletionDate,
  });
  const s = { survey_id: surveyId };
  await add('surveys_survey_question_groups', { ...s, questiongroup_id: groupId });
  const q1 = await add('surveys_surveyquestion', { ...s, group_id: groupId, text: 'Q1', order: 1 });
  const q2 = await add('surveys_surveyquestion', { ...s, group_id: null, text: 'Q2', order: 2 });
  await add('surveys_questionimage', { question_id: q1, image: 'a.png' });
  await add('surveys_questionimage', { question_id: q2, image: 'b.png' });
  await add('surveys_surveyquestioncondition', { question_id: q2, target_question_id: q1, operator: 'equals' });
  await add('surveys_surveymembership', { ...s, user_id: otherId, role: 'viewer' });
  const token = await add('surveys_surveyaccesstoken', { ...s, token: `tok-${o.key}`, created_by_id: ownerId, created_at: now });
  const r1 = await add('surveys_surveyresponse', { ...s, submitted_by_id: otherId, access_token_id: token, submitted_at: now });
  const r2 = await add('surveys_surveyresponse', { ...s, submitted_at: now });
  const dsr = await add('surveys_datasubjectrequest', { ...s, response_id: r1, request_type: 'erasure' });
  await add('surveys_responsefreezelog', { response_id: r1, data_subject_request_id: dsr, action: 'freeze' });
  await add('surveys_responsefreezelog', { response_id: r2, action: 'freeze' });
  const expires = new Date(now.getTime() + 30 * 86_400_000);
  await add('surveys_surveyprogress', { ...s, user_id: otherId, created_at: now, updated_at: now, expires_at: expires });
  await add('surveys_surveyprogress', { ...s, access_token_id: token, created_at: now, updated_at: now, expires_at: expires });
  await add('surveys_surveyprogress', { ...s, session_key: `sess-${o.key}`, created_at: now, updated_at: now, expires_at: expires });
  await add('surveys_auditlog', { ...s, actor_id: ownerId, action: 'close', created_at: now });
  await add('surveys_llmconversationsession', { id: uuid(dialect), ...s, user_id: ownerId }, false);
  const parent = await add('surveys_collectiondefinition', { ...s, key: 'visits', name: 'Visits' });
  const child = await add('surveys_collectiondefinition', { ...s, key: 'meds', name: 'Medicines', parent_id: parent });
  await add('surveys_collectionitem', { collection_id: parent, child_collection_id: child, order: 1 });
  await add('surveys_collectionitem', { collection_id: child, group_id: groupId, order: 1 });
  await add('surveys_dataexport', { id: uuid(dialect), ...s, created_by_id: ownerId, created_at: now }, false);
  if (o.hold) {
    await add('surveys_legalhold', {
      ...s,
      placed_by_id: ownerId,
      placed_at: now,
      reason: 'litigation',
      authority: 'court',
      removed_at: o.hold === 'removed' ? now : null,
    });
  }
  await add('surveys_datacustodian', { ...s, user_id: otherId, granted_by_id: ownerId });
  await add('surveys_dataretentionextension', { ...s, requested_by_id: ownerId });
  const rr = uuid(dialect);
  await add('surveys_recoveryrequest', { id: rr, user_id: ownerId, ...s, status: 'pending' }, false);
  await add('surveys_identityverification', { id: uuid(dialect), recovery_request_id: rr }, false);
  await add('surveys_recoveryauditentry', { id: uuid(dialect), recovery_request_id: rr, event_type: 'created' }, false);
  await add('surveys_usersurveykekescrow', { user_id: ownerId, ...s, platform_key_version_id: keyVersion });
  return { surveyId, ownerId, rows };
}
