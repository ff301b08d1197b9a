/**
 * ontime's migration on the databases of the case applications (the advisor portal's Django
 * tables; SurgiCase's `cases`, named exactly like ontime's own case table): under a profile that
 * maps their case table, `ontime migrate` adds only ontime_-prefixed tables, creates no table
 * named like an application table, and leaves every application table's columns and rows as
 * they were. The profiles themselves (rules, extra writes) are future work: docs/profiles.md.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Knex } from 'knex';
import type { Dialect } from '../../src/config.js';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { columnNames, tableNames } from '../helpers/django-ddl.js';
import { ADVISOR_PORTAL_TABLE_NAMES, createAdvisorPortalSchema, insertPortalCase, insertPortalSettings, insertPortalUser } from '../helpers/advisor-portal-schema.js';
import { createSurgiCaseSchema, insertSurgiCases } from '../helpers/surgicase-schema.js';

/** A profile file mapping only the application's case table (everything else: none). */
function profileFile(casesTable: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ontime-profile-'));
  const file = join(dir, 'profile.json');
  const none = { caseStatusHistory: null, surveys: null, surveyResponses: null, legalHolds: null, progress: null, settings: null };
  writeFileSync(file, JSON.stringify({ extends: 'ontime', cases: { table: casesTable }, ...none }));
  return file;
}

async function snapshot(knex: Knex, dialect: Dialect, tables: readonly string[]) {
  const out: Record<string, { columns: string[]; rows: string }> = {};
  for (const t of tables) out[t] = { columns: await columnNames(knex, t), rows: JSON.stringify(await knex(t).select('*').orderByRaw('1')) };
  return { tables: await tableNames(knex, dialect), out };
}

async function migrateLeavesApplicationAlone(knex: Knex, dialect: Dialect, url: string, casesTable: string, appTables: readonly string[]) {
  const before = await snapshot(knex, dialect, appTables);
  const r = await runCli(['migrate'], { DATABASE_URL: url, ONTIME_PROFILE_FILE: profileFile(casesTable) });
  assert.equal(r.code, 0, r.stderr);
  const after = await snapshot(knex, dialect, appTables);
  assert.deepEqual(after.out, before.out, 'application tables: same columns, same rows');
  const added = after.tables.filter((t) => !before.tables.includes(t));
  assert.ok(added.length >= 6, `ontime's tables were created: ${added.join(', ')}`);
  for (const t of added) assert.match(t, /^ontime_/, `${t} is prefixed`);
  for (const plain of ['cases', 'case_status_history', 'job_runs', 'system_settings', 'audit_log', 'email_outbox']) {
    assert.equal(after.tables.includes(plain), appTables.includes(plain), `${plain}: ${appTables.includes(plain) ? 'still the application\'s' : 'not created'}`);
  }
}

forEachDatabase(
  'ontime migrate on the advisor portal database',
  (db) => {
    test('adds only ontime_ tables; the portal tables keep their columns and rows', async () => {
      const { knex, dialect, url } = db();
      await createAdvisorPortalSchema(knex, dialect);
      const member = await insertPortalUser(knex, dialect, { username: 'm1' });
      await insertPortalSettings(knex, dialect);
      await insertPortalCase(knex, dialect, { external_case_id: 'WS100-1', member_id: member, scheduled_release_date: new Date('2026-03-20T14:00:00Z') });
      await migrateLeavesApplicationAlone(knex, dialect, url, 'cases_case', ADVISOR_PORTAL_TABLE_NAMES);
    });
  },
  { migrate: false },
);

forEachDatabase(
  'ontime migrate on the SurgiCase database',
  (db) => {
    test('SurgiCase\'s own `cases` is left as it was; ontime\'s tables are ontime_-prefixed', async (t) => {
      const { knex, dialect, url } = db();
      if (dialect === 'postgres') return t.skip('SurgiCase runs on MySQL');
      await createSurgiCaseSchema(knex, dialect);
      await insertSurgiCases(knex, dialect, [{ case_id: 'SC-1', case_status: 10 }, { case_id: 'SC-2', case_status: 15, active: false }]);
      await migrateLeavesApplicationAlone(knex, dialect, url, 'cases', ['cases']);
    });
  },
  { migrate: false },
);
