/**
 * A row the database refuses on its own inside the mail steps (send-scheduled-emails, the deletion
 * warnings of process-data-governance) is listed with the database's reason and skipped; every
 * other row is still mailed, the run is partial (exit 1), and a message the server already accepted
 * is never sent again, run after run. The refusals are planted triggers, on every database: one
 * refuses an outbox row before anything is sent, one refuses the record after the server accepted.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import type { Knex } from 'knex';
import type { Dialect } from '../../src/config.js';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { DAY, insertSurvey } from '../helpers/fixtures.js';
import { useSmtpServer } from '../helpers/smtp.js';

const NOW = '2026-06-10T12:00:00Z';

/** A BEFORE trigger on `table` that refuses the row when `when` (over NEW) holds. */
async function plantRefusal(knex: Knex, dialect: Dialect, name: string, event: 'INSERT' | 'UPDATE', table: string, when: string): Promise<() => Promise<void>> {
  if (dialect === 'sqlite') {
    await knex.raw(`CREATE TRIGGER ${name} BEFORE ${event} ON ${table} WHEN ${when} BEGIN SELECT RAISE(ABORT, 'planted refusal'); END`);
  } else if (dialect === 'postgres') {
    await knex.raw(`CREATE FUNCTION ${name}() RETURNS trigger AS $$ BEGIN
      IF ${when} THEN RAISE EXCEPTION 'planted refusal'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
    await knex.raw(`CREATE TRIGGER ${name} BEFORE ${event} ON ${table} FOR EACH ROW EXECUTE FUNCTION ${name}()`);
  } else {
    await knex.raw(`CREATE TRIGGER ${name} BEFORE ${event} ON ${table} FOR EACH ROW BEGIN
      IF ${when} THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'planted refusal'; END IF; END`);
  }
  return async () => {
    await knex.raw(`DROP TRIGGER IF EXISTS ${name}` + (dialect === 'postgres' ? ` ON ${table}` : ''));
    if (dialect === 'postgres') await knex.raw(`DROP FUNCTION IF EXISTS ${name}()`);
  };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  failedRows: Array<{ id: number; error: string }>;
}

forEachDatabase('bad rows in the mail steps', (db) => {
  const smtp = useSmtpServer();
  const cleanups: Array<() => Promise<void>> = [];
  beforeEach(async () => {
    await db().reset();
  });
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });
  const plant = async (...args: [string, 'INSERT' | 'UPDATE', string, string]) => {
    cleanups.push(await plantRefusal(db().knex, db().dialect, ...args));
  };
  /** A run, read as --json or as human output; failedRows from job_runs.summary either way. */
  const run = async (args: string[], json: boolean): Promise<Run> => {
    // Two connections: accepted messages are committed in groups, so a refused record splits a group.
    const env = { DATABASE_URL: db().url, SITE_URL: 'https://cases.example.org', ONTIME_SMTP_CONNECTIONS: '2', ...smtp().env() };
    const r = await runCli([...args, '--now', NOW, ...(json ? ['--json'] : [])], env);
    const last = await db().knex('job_runs').orderBy('id', 'desc').first('summary', 'status', 'error');
    const summary = typeof last.summary === 'string' ? JSON.parse(last.summary) : last.summary;
    assert.equal(last.status, 'partial', r.stderr);
    assert.equal(last.error ?? null, null);
    if (json) assert.deepEqual(JSON.parse(r.stdout).summary.failedRows, summary.failedRows, 'the same rows in --json and job_runs');
    return { ...r, failedRows: summary.failedRows ?? [] };
  };
  const noPersonalData = (r: Run, address: string) => {
    const all = r.stdout + r.stderr + JSON.stringify(r.failedRows);
    assert.ok(!all.includes(address), `the refused row's address is not in the output: ${all}`);
    assert.doesNotMatch(all, /insert into|update `?"?cases/i, 'no SQL text');
  };

  test('send-scheduled-emails: a case refused at its outbox row or at its record is listed and skipped; the others are mailed, nothing twice', async () => {
    const { knex } = db();
    const insertCase = async (reference: string, contact_email: string) => {
      const [row] = await knex('cases').insert({ reference, title: `Title ${reference}`, status: 10, contact_name: 'Ada', contact_email, scheduled_email_date: '2026-06-01' }).returning('id');
      return typeof row === 'object' ? Number((row as { id: number }).id) : Number(row);
    };
    const ids: Record<string, number> = {};
    for (const ref of ['A', 'B', 'REFUSED-OUTBOX', 'C', 'REFUSED-RECORD', 'D', 'E']) {
      ids[ref] = await insertCase(ref, `${ref.toLowerCase()}@example.test`);
    }
    await plant('refuse_outbox', 'INSERT', 'email_outbox', `NEW.to_address = 'refused-outbox@example.test'`);
    await plant('refuse_record', 'UPDATE', 'cases', `NEW.reference = 'REFUSED-RECORD' AND NEW.actual_email_sent_date IS NOT NULL`);
    const expectFailed = [
      { id: ids['REFUSED-OUTBOX'], error: /planted refusal/ },
      { id: ids['REFUSED-RECORD'], error: /planted refusal/ },
    ];
    const mailedTo = () => smtp().messages.flatMap((m) => m.to).sort();
    const everyOther = ['a', 'b', 'c', 'd', 'e', 'refused-record'].map((x) => `${x}@example.test`);

    for (const json of [true, false]) {
      const r = await run(['send-scheduled-emails'], json);
      assert.equal(r.code, 1, r.stderr);
      assert.deepEqual(
        r.failedRows.map((f) => f.id).sort((x, y) => x - y),
        expectFailed.map((f) => f.id),
      );
      for (const f of r.failedRows) assert.match(f.error, /^database error \S+: .*planted refusal/);
      if (!json) {
        assert.match(r.stdout, new RegExp(`FAILED case REFUSED-OUTBOX \\(id ${ids['REFUSED-OUTBOX']}\\): not sent`));
        assert.match(r.stdout, new RegExp(`FAILED case REFUSED-RECORD \\(id ${ids['REFUSED-RECORD']}\\): the email is sent`));
      }
      noPersonalData(r, 'refused-outbox@example.test');
      // Every other case mailed exactly once; the one whose record was refused was mailed by the
      // first run and not again by the second (its outbox row says sent).
      assert.deepEqual(mailedTo(), everyOther);
      const cases: Array<{ reference: string; actual_email_sent_date: unknown }> = await knex('cases').select('reference', 'actual_email_sent_date');
      for (const c of cases) assert.equal(c.actual_email_sent_date === null, c.reference.startsWith('REFUSED'), c.reference);
      const outbox: Array<{ to_address: string; status: string }> = await knex('email_outbox').select('to_address', 'status');
      assert.deepEqual(outbox.map((o) => o.status), everyOther.map(() => 'sent'));
    }
  });

  test('process-data-governance: a warning refused at its outbox row or at its record is listed and skipped; the others are sent, nothing twice', async () => {
    const { knex, dialect } = db();
    const in20Days = new Date(Date.parse(NOW) + 20 * DAY);
    const ids: Record<string, number> = {};
    for (const name of ['a', 'refused-outbox', 'refused-record', 'b']) {
      ids[name] = await insertSurvey(knex, dialect, { name, owner_email: `${name}@example.test`, deletion_date: in20Days });
    }
    await plant('refuse_outbox', 'INSERT', 'email_outbox', `NEW.to_address = 'refused-outbox@example.test'`);
    await plant('refuse_record', 'INSERT', 'survey_deletion_warnings', `NEW.survey_id = ${ids['refused-record']}`);

    for (const json of [true, false]) {
      const r = await run(['process-data-governance'], json);
      assert.equal(r.code, 1, r.stderr);
      assert.deepEqual(
        r.failedRows.map((f) => f.id).sort((x, y) => x - y),
        [ids['refused-outbox'], ids['refused-record']],
      );
      for (const f of r.failedRows) assert.match(f.error, /^database error \S+: .*planted refusal/);
      if (!json) {
        assert.match(r.stdout, new RegExp(`survey ${ids['refused-outbox']}: 30-day warning .* not sent, the database refused its outbox row`));
        assert.match(r.stdout, new RegExp(`survey ${ids['refused-record']}: 30-day warning .* sent \\(the outbox keeps it`));
      }
      noPersonalData(r, 'refused-outbox@example.test');
      assert.deepEqual(smtp().messages.flatMap((m) => m.to).sort(), ['a@example.test', 'b@example.test', 'refused-record@example.test']);
      const warned: Array<{ survey_id: unknown }> = await knex('survey_deletion_warnings').select('survey_id');
      assert.deepEqual(warned.map((w) => Number(w.survey_id)).sort((x, y) => x - y), [ids['a'], ids['b']]);
    }
  });
});
