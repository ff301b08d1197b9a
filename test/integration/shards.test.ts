/**
 * Shards (--shard i/n): on every database, shards 0/3, 1/3 and 2/3 together change exactly the
 * rows one unsharded run changes, with the same audit (and history, warning, mail) rows; each
 * shard has its own lock `<job>#i/n` (two copies of one shard never overlap, different shards
 * hold theirs at once) and its own job_runs rows; bad values are refused before connecting.
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import type { Knex } from 'knex';
import type { Dialect } from '../../src/config.js';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { DAY, insertMany, insertSurvey, instant, progressRow } from '../helpers/fixtures.js';
import { useSmtpServer } from '../helpers/smtp.js';
import { parseDatabaseUrl } from '../../src/config.js';
import { connect } from '../../src/db/connect.js';
import { insertJobRun } from '../../src/db/job-runs.js';
import { advisoryHolder, lockName, tryAdvisoryLock } from '../../src/db/locks.js';
import { toDbInstant } from '../../src/db/time.js';

const NOW = new Date('2026-06-01T02:00:00Z');
const SHARDS = ['0/3', '1/3', '2/3'];

/** Progress rows: most expired, some live; natural key session_key. */
async function seedProgress(knex: Knex, dialect: Dialect, n = 70): Promise<void> {
  const survey = await insertSurvey(knex, dialect);
  const rows = Array.from({ length: n }, (_, i) =>
    progressRow(dialect, {
      survey_id: survey,
      session_key: i % 5 === 4 ? null : `s-${i}`,
      user_id: i % 5 === 4 ? i : null,
      expires_at: new Date(NOW.getTime() + (i % 7 === 6 ? DAY : -DAY)),
      updated_at: new Date(NOW.getTime() - 2 * DAY),
    }),
  );
  await insertMany(knex, 'survey_progress', rows);
}

/** Cases due, not yet due, and on hold; natural key reference. */
async function seedCases(knex: Knex, n = 50): Promise<void> {
  await insertMany(
    knex,
    'cases',
    Array.from({ length: n }, (_, i) => ({
      reference: `C-${String(i).padStart(3, '0')}`,
      title: 'shards',
      status: 10,
      scheduled_release_date: i % 6 === 5 ? '2026-12-31' : '2026-05-20',
      hold_start_date: i % 9 === 8 ? '2026-05-01' : null,
      hold_end_date: i % 9 === 8 ? '2026-07-01' : null,
    })),
  );
}

/** Surveys due for a warning, a soft deletion, a hard deletion (with children), held ones; natural key name. */
async function seedSurveys(knex: Knex, dialect: Dialect, n = 24): Promise<void> {
  for (let i = 0; i < n; i++) {
    const kind = i % 4;
    const id = await insertSurvey(knex, dialect, {
      name: `S-${String(i).padStart(2, '0')}`,
      owner_email: `owner${i}@example.test`,
      deletion_date: kind === 0 ? new Date(NOW.getTime() + 5 * DAY) : kind === 1 ? new Date(NOW.getTime() - DAY) : kind === 2 ? new Date(NOW.getTime() - 40 * DAY) : new Date(NOW.getTime() + 90 * DAY),
      deleted_at: kind === 2 ? new Date(NOW.getTime() - 35 * DAY) : null,
    });
    if (kind === 2) {
      await insertMany(knex, 'survey_responses', [{ survey_id: id, submitted_at: instant(dialect, NOW), payload: '{}' }]);
      await insertMany(knex, 'survey_progress', [progressRow(dialect, { survey_id: id, session_key: `k${i}`, updated_at: NOW })]);
    }
    if (i % 7 === 5) {
      await knex('survey_legal_holds').insert({ survey_id: id, reason: 'litigation', placed_at: instant(dialect, new Date('2026-01-01T00:00:00Z')), removed_at: null });
    }
  }
}

/** id → natural key, taken right after seeding (deleted rows keep their name in the comparison). */
async function keysOf(knex: Knex, table: string, column: string): Promise<Map<string, string>> {
  const rows: Array<Record<string, unknown>> = await knex(table).select('id', column);
  return new Map(rows.map((r) => [String(r.id), String(r[column] ?? `#${r.id}`)]));
}

/** Audit rows without what differs between runs (ids, run ids, clocks), subjects by natural key, sorted. */
async function auditOf(knex: Knex, subjects: Map<string, string>): Promise<string[]> {
  const rows: Array<Record<string, unknown>> = await knex('audit_log').select('actor', 'action', 'subject_type', 'subject_id', 'details');
  const details = (text: unknown) => {
    // The outbox row a warning went out through is numbered by insertion order, which sharding changes.
    const { outboxId: _outbox, ...rest } = JSON.parse(String(text ?? '{}'));
    return rest;
  };
  return rows.map((r) => JSON.stringify([r.actor, r.action, r.subject_type, r.subject_id === null ? null : subjects.get(String(r.subject_id)), details(r.details)])).sort();
}

forEachDatabase('shards', (db) => {
  const smtp = useSmtpServer();
  const env = (extra: Record<string, string> = {}) => ({ DATABASE_URL: db().url, SITE_URL: 'https://surveys.example.org', ...smtp().env(), ...extra });
  const run = (job: string, ...args: string[]) => runCli([job, '--now', NOW.toISOString(), '--batch-size', '4', ...args], env());

  beforeEach(async () => {
    await db().reset();
  });

  /**
   * A run of cleanup-survey-progress that stops between its first two batches, holding its lock
   * and its `running` row, until release(); `holding` settles once it is there.
   */
  function holdRun(args: string[], extra: Record<string, string> = {}) {
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    let paused!: () => void;
    const holding = new Promise<void>((res) => (paused = res));
    let calls = 0;
    const done = runCli(['cleanup-survey-progress', '--now', NOW.toISOString(), '--batch-size', '2', ...args], env(extra), {
      hooks: {
        async beforeCheckpoint() {
          if (++calls !== 2) return;
          paused();
          await gate;
        },
      },
    });
    return { holding, release, done };
  }

  /** The id of the newest `running` row of the job for `shard` ('' = unsharded). */
  const runningId = async (shard: string) =>
    Number((await db().knex('job_runs').where({ shard, status: 'running' }).orderBy('id', 'desc').first('id')).id);

  /** The same data, run once unsharded and once as three shards: what each leaves must be equal. */
  async function compare<T>(job: string, seed: () => Promise<void>, snapshot: () => Promise<T>): Promise<{ whole: T; sharded: T }> {
    await seed();
    const one = await run(job);
    assert.equal(one.code, 0, one.stderr);
    const whole = await snapshot();
    await db().reset();
    smtp().messages.length = 0;
    await seed();
    for (const shard of SHARDS) {
      const r = await run(job, '--shard', shard);
      assert.equal(r.code, 0, `${shard}: ${r.stderr}`);
    }
    const sharded = await snapshot();
    const runs: Array<{ id: number; shard: string; status: string }> = await db().knex('job_runs').where({ job }).orderBy('id').select('id', 'shard', 'status');
    assert.deepEqual(runs.map(({ shard, status }) => ({ shard, status })), SHARDS.map((shard) => ({ shard, status: 'succeeded' })), 'one row per shard, the shard recorded');
    // Each shard changed only its own rows: every subject (or id range) its audit rows name is ≡ i (mod 3).
    let checked = 0;
    for (const [index, runRow] of runs.entries()) {
      const rows: Array<{ subject_id: unknown; details: string }> = await db().knex('audit_log').where({ run_id: runRow.id }).select('subject_id', 'details');
      for (const row of rows) {
        const d = JSON.parse(row.details ?? '{}');
        const ids = [row.subject_id, d.firstId, d.lastId].filter((v) => v !== null && v !== undefined).map(Number);
        for (const id of ids) assert.equal(id % 3, index, `run of shard ${runRow.shard} changed row ${id}: ${row.details}`);
        checked += ids.length;
      }
    }
    assert.ok(checked > 0, 'the shards wrote audit rows naming what they changed');
    return { whole, sharded };
  }

  test('cleanup-survey-progress: shards 0/3, 1/3, 2/3 together delete exactly what one run deletes, with the same audit totals', async () => {
    const { knex, dialect } = db();
    const snapshot = async () => {
      const left = (await knex('survey_progress').pluck('session_key')).map(String).sort();
      const totals = { deleted: 0, authenticated: 0, anonymous: 0, token: 0 };
      for (const row of await knex('audit_log').where({ action: 'survey_progress.deleted' }).select('details')) {
        const d = JSON.parse(row.details);
        for (const k of Object.keys(totals) as Array<keyof typeof totals>) totals[k] += Number(d[k]);
      }
      return { left, totals };
    };
    const { whole, sharded } = await compare('cleanup-survey-progress', () => seedProgress(knex, dialect), snapshot);
    assert.equal(whole.totals.deleted, 60, 'the unsharded run deleted every expired row');
    assert.deepEqual(sharded, whole);
  });

  test('release-scheduled-cases: shards together release the same cases with the same audit and history rows', async () => {
    const { knex } = db();
    let subjects = new Map<string, string>();
    const seed = async () => {
      await seedCases(knex);
      subjects = await keysOf(knex, 'cases', 'reference');
    };
    const snapshot = async () => ({
      released: (await knex('cases').whereNotNull('actual_release_date').pluck('reference')).sort(),
      audit: await auditOf(knex, subjects),
    });
    const { whole, sharded } = await compare('release-scheduled-cases', seed, snapshot);
    assert.ok(whole.released.length > 30 && whole.released.length < 50, String(whole.released.length));
    assert.deepEqual(sharded, whole);
  });

  test('process-data-governance: shards together warn, soft- and hard-delete the same surveys, with the same audit rows and mails', async () => {
    const { knex, dialect } = db();
    let subjects = new Map<string, string>();
    const seed = async () => {
      await seedSurveys(knex, dialect);
      subjects = await keysOf(knex, 'surveys', 'name');
    };
    const snapshot = async () => {
      const surveys: Array<{ name: string; deleted_at: unknown }> = await knex('surveys').select('name', 'deleted_at');
      const audit = await auditOf(knex, subjects);
      // The legal-hold skips are one aggregate row per run: compare their sum, and every other row one for one.
      const holds = audit.filter((a) => a.includes('survey.legal_hold_skipped'));
      const held = holds.reduce((sum, a) => sum + Number(JSON.parse(a)[4].surveys), 0);
      return {
        live: surveys.filter((s) => s.deleted_at === null).map((s) => s.name).sort(),
        softDeleted: surveys.filter((s) => s.deleted_at !== null).map((s) => s.name).sort(),
        audit: audit.filter((a) => !holds.includes(a)),
        held,
        warnings: Number((await knex('survey_deletion_warnings').count({ n: '*' }))[0]!.n),
        mails: smtp().messages.map((m) => m.to.join(',')).sort(),
      };
    };
    const { whole, sharded } = await compare('process-data-governance', seed, snapshot);
    assert.ok(whole.mails.length > 0 && whole.audit.length > 10 && whole.softDeleted.length > 0, JSON.stringify(whole));
    assert.ok(whole.live.length < 24, 'hard deletion removed surveys');
    assert.deepEqual(sharded, whole);
  });

  test('two copies of one shard never overlap; different shards hold their locks at once; each run abandons only its own shard', async () => {
    const { knex, dialect } = db();
    await seedProgress(knex, dialect, 60);
    const first = holdRun(['--shard', '1/3']);
    await first.holding;
    try {
      const copy = await run('cleanup-survey-progress', '--shard', '1/3');
      assert.equal(copy.code, 0, copy.stderr);
      assert.match(copy.stdout, /cleanup-survey-progress#1\/3 is already running \(lock held by/);
      const other = await run('cleanup-survey-progress', '--shard', '2/3', '--json');
      assert.equal(other.code, 0, other.stderr);
      assert.equal(JSON.parse(other.stdout).shard, '2/3');
      assert.ok(JSON.parse(other.stdout).summary.deleted > 0, 'shard 2/3 ran while 1/3 held its lock');
    } finally {
      first.release();
    }
    const done = await first.done;
    assert.equal(done.code, 0, done.stderr);
    const runs: Array<{ shard: string; status: string; summary: string }> = await knex('job_runs').orderBy('id').select('shard', 'status', 'summary');
    assert.deepEqual(
      runs.map((r) => [r.shard, r.status, JSON.parse(r.summary).reason ?? null]),
      [
        ['1/3', 'succeeded', null],
        ['1/3', 'skipped', 'lock held'],
        ['2/3', 'succeeded', null],
      ],
      "shard 2/3 did not take shard 1/3's live run for abandoned",
    );
    const expiredLeft: number[] = (await knex('survey_progress').where('expires_at', '<', instant(dialect, NOW) as never).pluck('id')).map(Number);
    assert.ok(expiredLeft.length > 0, 'shard 0/3 never ran: its expired rows are still there');
    assert.deepEqual(expiredLeft.filter((id) => id % 3 !== 0), [], 'shards 1/3 and 2/3 deleted all of theirs, nothing of 0/3');
  });

  for (const lockMode of ['auto', 'table'] as const) {
    test(`ONTIME_LOCK=${lockMode}: an unsharded run and any shard, or shards of another n, never overlap; shards of one n do`, async (t) => {
      const { knex, dialect } = db();
      if (lockMode === 'table' && dialect === 'sqlite') return t.skip('SQLite has leases in both modes');
      const lockEnv = { ONTIME_LOCK: lockMode };
      const attempt = (...args: string[]) => runCli(['cleanup-survey-progress', '--now', NOW.toISOString(), '--batch-size', '4', ...args], env(lockEnv));
      await seedProgress(knex, dialect, 60);
      const shard = holdRun(['--shard', '1/3'], lockEnv);
      await shard.holding;
      const shardRun = await runningId('1/3');
      try {
        for (const args of [[], ['--shard', '0/4'], ['--shard', '1/2']]) {
          const refused = await attempt(...args);
          assert.equal(refused.code, 0, refused.stderr);
          const name = args.length ? `cleanup-survey-progress#${args[1]}` : 'cleanup-survey-progress';
          assert.match(refused.stdout, new RegExp(`^${name} cannot run while cleanup-survey-progress#1/3 runs \\(lock held by [^\\n]*run #${shardRun}\\b`, 'm'));
        }
        const sibling = await attempt('--shard', '2/3');
        assert.equal(sibling.code, 0, sibling.stderr);
        assert.doesNotMatch(sibling.stdout, /cannot run|already running/);
      } finally {
        shard.release();
      }
      assert.equal((await shard.done).code, 0);

      // The other way round: an unsharded run holds the job; no shard may start.
      const whole = holdRun([], lockEnv);
      await whole.holding;
      const wholeRun = await runningId('');
      try {
        const refused = await attempt('--shard', '0/3');
        assert.equal(refused.code, 0, refused.stderr);
        assert.match(refused.stdout, new RegExp(`cleanup-survey-progress#0/3 cannot run while cleanup-survey-progress runs \\(lock held by [^\\n]*run #${wholeRun}\\b`));
      } finally {
        whole.release();
      }
      assert.equal((await whole.done).code, 0);

      const runs: Array<{ shard: string; status: string; summary: string }> = await knex('job_runs').orderBy('id').select('shard', 'status', 'summary');
      assert.deepEqual(
        runs.map((r) => [r.shard, r.status, JSON.parse(r.summary).holderLock ?? null]),
        [
          ['1/3', 'succeeded', null],
          ['', 'skipped', 'cleanup-survey-progress#1/3'],
          ['0/4', 'skipped', 'cleanup-survey-progress#1/3'],
          ['1/2', 'skipped', 'cleanup-survey-progress#1/3'],
          ['2/3', 'succeeded', null],
          ['', 'succeeded', null],
          ['0/3', 'skipped', 'cleanup-survey-progress'],
        ],
      );
      assert.equal(Number((await knex('job_locks').count({ n: '*' }).first())?.n), 0, 'the refused runs gave their own leases back');
    });
  }

  test('a crashed shard holder blocks the other layouts only while its lock lives: lease until expiry, advisory until its session ends', async () => {
    const { knex, dialect } = db();
    await seedProgress(knex, dialect, 12);
    const attempt = (lockMode: string, ...args: string[]) =>
      runCli(['cleanup-survey-progress', '--now', NOW.toISOString(), ...args], env({ ONTIME_LOCK: lockMode }));
    const deadRun = (shard: string) =>
      insertJobRun(knex, dialect, { job: 'cleanup-survey-progress', shard, trigger: 'cli', scheduledFor: null, startedAt: new Date(), status: 'running', host: 'dead-host', pid: 1 });

    // A lease: the dead shard's row stays `running`, its lease blocks until it expires.
    const leaseRun = await deadRun('1/3');
    const name = lockName('cleanup-survey-progress#1/3');
    await knex('job_locks').insert({ name, holder: 'dead-host pid 1 #000001', run_id: leaseRun, acquired_at: toDbInstant(dialect, new Date()), expires_at: toDbInstant(dialect, new Date(Date.now() + 3_600_000)) });
    const blocked = await attempt('table');
    assert.equal(blocked.code, 0, blocked.stderr);
    assert.match(blocked.stdout, new RegExp(`cannot run while cleanup-survey-progress#1/3 runs \\(lock held by dead-host pid 1 #000001, run #${leaseRun}, lease until`));
    await knex('job_locks').where({ name }).update({ expires_at: toDbInstant(dialect, new Date(Date.now() - 60_000)) });
    const after = await attempt('table', '--json');
    assert.equal(after.code, 0, after.stderr);
    assert.equal(JSON.parse(after.stdout).status, 'succeeded', 'the expired lease no longer blocks');
    assert.equal((await knex('job_runs').where({ id: leaseRun }).first('status')).status, 'running', "only shard 1/3's next run may call it abandoned");
    // An operator who knows the holder is dead releases the shard's lease by its name.
    await knex('job_locks').where({ name }).update({ expires_at: toDbInstant(dialect, new Date(Date.now() + 3_600_000)) });
    assert.match((await attempt('table')).stdout, /cannot run while cleanup-survey-progress#1\/3 runs/);
    const released = await runCli(['locks', '--release', 'cleanup-survey-progress#1/3', '--yes'], env({ ONTIME_LOCK: 'table' }));
    assert.equal(released.code, 0, released.stderr);
    assert.match(released.stdout, /Released the lease of cleanup-survey-progress#1\/3 held by dead-host pid 1/);
    const freed = await attempt('table');
    assert.equal(freed.code, 0, freed.stderr);
    assert.doesNotMatch(freed.stdout, /cannot run/);

    if (dialect === 'sqlite') return;
    // An advisory lock: held by a session of its own; when that session dies, the lock goes with it.
    await deadRun('0/4');
    const holder = await connect(parseDatabaseUrl(db().url), { poolMax: 1 });
    const pool = holder.client as { acquireConnection(): Promise<unknown>; releaseConnection(conn: unknown): Promise<void> };
    const conn = await pool.acquireConnection();
    try {
      assert.equal(await tryAdvisoryLock(holder, dialect, conn, 'cleanup-survey-progress#0/4'), true);
      const refused = await attempt('auto', '--shard', '1/3');
      assert.match(refused.stdout, /cleanup-survey-progress#1\/3 cannot run while cleanup-survey-progress#0\/4 runs \(lock held by/);
    } finally {
      // The holder "dies": its connection closes with the lock still taken (never unlocked).
      await pool.releaseConnection(conn);
      await holder.destroy();
    }
    for (let i = 0; i < 50 && (await advisoryHolder(knex, dialect, 'cleanup-survey-progress#0/4')); i++) await new Promise((r) => setTimeout(r, 100));
    const runs = await attempt('auto', '--shard', '1/3', '--json');
    assert.equal(runs.code, 0, runs.stderr);
    assert.equal(JSON.parse(runs.stdout).status, 'succeeded', "the dead session's lock no longer blocks");
  });

  test('the shard from the environment: ONTIME_SHARD, or JOB_COMPLETION_INDEX with ONTIME_SHARDS; the flag wins', async () => {
    const { knex, dialect } = db();
    await seedProgress(knex, dialect, 10);
    const shardOf = async (extra: Record<string, string>, args: string[] = []) => {
      const r = await runCli(['cleanup-survey-progress', '--now', NOW.toISOString(), '--json', ...args], env(extra));
      assert.equal(r.code, 0, r.stderr);
      return (await knex('job_runs').orderBy('id', 'desc').first('shard')).shard;
    };
    assert.equal(await shardOf({ ONTIME_SHARD: '1/2' }), '1/2');
    assert.equal(await shardOf({ JOB_COMPLETION_INDEX: '2', ONTIME_SHARDS: '3' }), '2/3');
    assert.equal(await shardOf({ JOB_COMPLETION_INDEX: '2' }), '', 'an Indexed Job not made for shards is not sharded');
    assert.equal(await shardOf({ ONTIME_SHARD: '1/2' }, ['--shard', '0/4']), '0/4');
    assert.equal(await shardOf({}, ['--shard', '0/1']), '', '0/1 is the whole table');
    const history = await runCli(['history', '--limit', '5'], env());
    assert.match(history.stdout, /cleanup-survey-progress#0\/4 /);
    const listed = await runCli(['history', '--json', '--limit', '5'], env());
    assert.deepEqual(JSON.parse(listed.stdout).runs.map((r: { shard: string | null }) => r.shard), [null, '0/4', null, '2/3', '1/2']);
  });
});

test('bad shards are refused before connecting: --shard 64, the environment 78, a job that cannot be sharded 64', async () => {
  const url = { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' };
  for (const bad of ['3/3', '0/0', 'x', '1', '-1/3', '1/1001', '1/2/3']) {
    const r = await runCli(['cleanup-survey-progress', '--shard', bad], url);
    assert.equal(r.code, 64, `${bad}: ${r.stderr}`);
    assert.match(r.stderr, /--shard must be i\/n/);
  }
  const notShardable = await runCli(['prune-history', '--shard', '0/2'], url);
  assert.equal(notShardable.code, 64, notShardable.stderr);
  assert.match(notShardable.stderr, /prune-history cannot be sharded/);
  for (const env of [{ ONTIME_SHARD: '5/2' }, { ONTIME_SHARDS: '3' }, { ONTIME_SHARDS: '3', JOB_COMPLETION_INDEX: '3' }]) {
    const r = await runCli(['cleanup-survey-progress'], { ...url, ...env });
    assert.equal(r.code, 78, `${JSON.stringify(env)}: ${r.stderr}`);
  }
});
