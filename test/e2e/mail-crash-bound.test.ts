/**
 * The mail crash bound of docs/mail.md, counted at the SMTP server: send-scheduled-emails at its
 * default settings (ONTIME_SMTP_CONNECTIONS unset: 4 connections, grouped `sent` marks) is killed
 * with SIGKILL while it sends, KILLS times in a row on the same due cases, each kill after a
 * number of deliveries drawn from the seed; then one run finishes the rest. A message delivered
 * by a run whose Message-ID the server had already received is a repeat caused by the kill
 * before that run. Each kill may cause at most MAIL_REPEAT_BOUND repeats, every repeat carries
 * the Message-ID of the first delivery, and in the end every due case was mailed and recorded.
 *
 * ONTIME_TEST_MAIL_KILLS: kills per database (default 10; e.g. 50 for a bigger round).
 * ONTIME_TEST_MAIL_SEED: the seed of the kill moments (default drawn from the clock, printed in
 * the test's name).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { toDbInstant, utcDay } from '../../src/db/time.js';
import { SENT_GROUP_MAX } from '../../src/mail/outbox.js';
import { binPath, emptyCwd, runCli, testEnv } from '../helpers/cli.js';
import { seededRandom } from '../helpers/crash-world.js';
import { forEachDatabase } from '../helpers/databases.js';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp.js';

const KILLS = Number(process.env.ONTIME_TEST_MAIL_KILLS ?? 10);
const SEED = Number(process.env.ONTIME_TEST_MAIL_SEED ?? (Date.now() % 100_000));
/** The default of ONTIME_SMTP_CONNECTIONS, which this test leaves unset. */
const CONNECTIONS = 4;
/** docs/mail.md: in conversation, one per connection, plus accepted ones awaiting their group commit. */
const MAIL_REPEAT_BOUND = CONNECTIONS + SENT_GROUP_MAX;
/** A kill comes after 1 … MAX_BEFORE_KILL deliveries of the run. */
const MAX_BEFORE_KILL = 40;
const NOW = new Date('2026-03-02T08:30:00Z');
const CASES = KILLS * MAX_BEFORE_KILL + 100;

forEachDatabase('mail crash bound: SIGKILL mid-send, duplicates counted at the SMTP server', (db) => {
  let smtp: TestSmtpServer;
  before(async () => {
    smtp = await startSmtpServer();
  });
  after(async () => smtp.close());
  const env = () => ({ DATABASE_URL: db().url, SITE_URL: 'https://cases.example.org', DEFAULT_FROM_EMAIL: 'ontime@example.test', ...smtp.env() });

  test(`${KILLS} kills (seed ${SEED}): at most ${MAIL_REPEAT_BOUND} repeats per kill, each with its Message-ID`, async (t) => {
    const { knex, dialect } = db();
    await db().reset();
    smtp.messages.length = 0;
    const today = utcDay(NOW);
    const stamp = toDbInstant(dialect, NOW);
    for (let from = 0; from < CASES; from += 200) {
      const rows = [];
      for (let i = from; i < Math.min(CASES, from + 200); i++) {
        rows.push({ reference: `M-${i}`, title: `Case ${i}`, status: 10, contact_name: `Contact ${i}`, contact_email: `c${i}@example.test`, scheduled_email_date: today, created_at: stamp, updated_at: stamp });
      }
      await knex('cases').insert(rows);
    }
    // Seed mixed first: adjacent seeds would otherwise draw nearly the same first number.
    const draw = seededRandom(Math.imul(SEED ^ 0x5bd1e995, 0x9e3779b1));
    const seen = new Map<string, string>();
    const replay = `replay: ONTIME_TEST_MAIL_SEED=${SEED} ONTIME_TEST_MAIL_KILLS=${KILLS} (${db().name})`;
    /** Deliveries of run `from…` whose Message-ID came before: repeats. Also checks one Message-ID per recipient. */
    const account = (from: number) => {
      let repeats = 0;
      for (const m of smtp.messages.slice(from)) {
        const key = m.to.join(',');
        const id = m.messageId ?? '';
        const first = seen.get(key);
        if (first === undefined) seen.set(key, id);
        else {
          repeats += 1;
          assert.equal(id, first, `a repeat to ${key} keeps its Message-ID; ${replay}`);
        }
      }
      return repeats;
    };

    let kills = 0;
    const perKill: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      const start = smtp.messages.length;
      const after = 1 + Math.floor(draw() * MAX_BEFORE_KILL);
      const child = spawn(process.execPath, [binPath, 'send-scheduled-emails', '--now', NOW.toISOString()], { env: testEnv(env()), cwd: emptyCwd, stdio: 'ignore' });
      const done = new Promise<NodeJS.Signals | null>((res) => child.on('close', (_code, signal) => res(signal)));
      let exited = false;
      void done.then(() => (exited = true));
      const until = Date.now() + 60_000;
      while (!exited && smtp.messages.length - start < after && Date.now() < until) await new Promise((res) => setTimeout(res, 1));
      child.kill('SIGKILL');
      const signal = await done;
      assert.equal(signal, 'SIGKILL', `run ${k + 1} was killed mid-send, not finished; ${replay}`);
      kills += 1;
      // The run before this one was killed: what this one delivered again is that kill's doing.
      if (k > 0) perKill.push(account(start));
      else account(start);
      // A lease (SQLite) outlives a killed holder until it expires; its holder is known dead.
      if (dialect === 'sqlite') await runCli(['locks', '--release', 'send-scheduled-emails', '--yes'], env());
    }
    const start = smtp.messages.length;
    const last = await runCli(['send-scheduled-emails', '--now', NOW.toISOString()], env());
    assert.equal(last.code, 0, `${replay}\n${last.stdout}${last.stderr}`);
    perKill.push(account(start));

    t.diagnostic(`${kills} kills, repeats per kill: ${perKill.join(' ')} (bound ${MAIL_REPEAT_BOUND}); ${smtp.messages.length} deliveries for ${CASES} cases`);
    for (const [i, n] of perKill.entries()) assert.ok(n <= MAIL_REPEAT_BOUND, `kill ${i + 1} caused ${n} repeats (bound ${MAIL_REPEAT_BOUND}); ${replay}`);
    assert.equal(seen.size, CASES, `every due case was mailed; ${replay}`);
    const unsent = await knex('cases').whereNull('actual_email_sent_date').count({ n: '*' });
    assert.equal(Number(unsent[0]!.n), 0, `every case recorded as mailed; ${replay}`);
    const outbox = await knex('email_outbox').select('status').count({ n: '*' }).groupBy('status');
    assert.deepEqual(outbox.map((r) => [(r as { status?: string }).status, Number(r.n)]), [['sent', CASES]], replay);
    const audits = await knex('audit_log').where('action', 'case.email_sent').count({ n: '*' });
    assert.equal(Number(audits[0]!.n), CASES, `one audit row per case; ${replay}`);
  });
});
