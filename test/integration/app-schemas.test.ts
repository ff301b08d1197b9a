/**
 * The application fixtures themselves: the advisor portal's and SurgiCase's tables are created
 * from their DDL on each database they run on, take the rows the seed helpers write, and keep
 * the constraints the profiles rely on (unique ids, string primary keys, foreign keys).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachDatabase } from '../helpers/databases.js';
import {
  ADVISOR_PORTAL_TABLE_NAMES,
  createAdvisorPortalSchema,
  insertMemberDelegate,
  insertPortalCase,
  insertPortalSettings,
  insertPortalUser,
} from '../helpers/advisor-portal-schema.js';
import { createSurgiCaseSchema, insertSurgiCases, readSurgiCases, SURGICASE_STATUS_TIMESTAMPS } from '../helpers/surgicase-schema.js';
import { columnNames } from '../helpers/django-ddl.js';
import { fromDbInstant } from '../../src/db/time.js';

forEachDatabase(
  'advisor portal fixture',
  (db) => {
    test('creates every table and takes seeded rows', async () => {
      const { knex, dialect } = db();
      await createAdvisorPortalSchema(knex, dialect);
      for (const t of ADVISOR_PORTAL_TABLE_NAMES) assert.ok(await knex.schema.hasTable(t), t);
      const member = await insertPortalUser(knex, dialect, { username: 'member1', notification_email: 'notify@example.test' });
      const delegate = await insertPortalUser(knex, dialect, { username: 'delegate1' });
      await insertMemberDelegate(knex, dialect, member, delegate);
      await insertPortalSettings(knex, dialect, { batch_release_enabled: false });
      const at = new Date('2026-03-20T14:00:00Z');
      const id = await insertPortalCase(knex, dialect, { external_case_id: 'WS100-2026-03-0001', member_id: member, scheduled_release_date: at, hold_duration_days: '1.500' });
      const row = await knex('cases_case').where({ id }).first();
      assert.equal(fromDbInstant(row.scheduled_release_date)?.toISOString(), at.toISOString());
      assert.equal(Number(row.hold_duration_days), 1.5);
      const settings = await knex('core_systemsettings').first();
      assert.equal(Boolean(Number(settings.batch_release_enabled)), false);
      assert.ok((await columnNames(knex, 'cases_case')).includes('actual_email_sent_date'));
    });

    test('external_case_id is unique and a delegate link is unique per member', async () => {
      const { knex, dialect } = db();
      await assert.rejects(insertPortalCase(knex, dialect, { external_case_id: 'WS100-2026-03-0001', member_id: null }));
      const [m] = await knex('accounts_user').where({ username: 'member1' }).select('id');
      const [d] = await knex('accounts_user').where({ username: 'delegate1' }).select('id');
      await assert.rejects(insertMemberDelegate(knex, dialect, Number(m.id), Number(d.id)));
    });
  },
  { migrate: false },
);

forEachDatabase(
  'SurgiCase fixture',
  (db) => {
    test('string primary keys, active flag and one timestamp column per status', async (t) => {
      const { knex, dialect } = db();
      if (dialect === 'postgres') return t.skip('SurgiCase runs on MySQL');
      await createSurgiCaseSchema(knex, dialect);
      await insertSurgiCases(knex, dialect, [
        { case_id: 'SC-0001', case_status: 10 },
        { case_id: 'SC-0002', case_status: 15, active: false, stamps: { pending_payment_ts: new Date('2026-01-12T08:00:00Z') } },
      ]);
      await assert.rejects(insertSurgiCases(knex, dialect, [{ case_id: 'SC-0001', case_status: 10 }]));
      const rows = await readSurgiCases(knex);
      assert.equal(Number(rows.get('SC-0001')!.active), 1);
      assert.equal(Number(rows.get('SC-0002')!.active), 0);
      assert.equal(fromDbInstant(rows.get('SC-0002')!.pending_payment_ts)?.toISOString(), '2026-01-12T08:00:00.000Z');
      assert.equal(rows.get('SC-0001')!.paid_to_provider_ts, null);
      const cols = await columnNames(knex, 'cases');
      for (const c of Object.values(SURGICASE_STATUS_TIMESTAMPS)) assert.ok(cols.includes(c), c);
    });
  },
  { migrate: false },
);
