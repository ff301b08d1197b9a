import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';
import { DAY, insertMany, insertSurvey, progressRow, type ProgressValues } from '../helpers/fixtures.js';

const NOW = new Date('2026-11-20T03:00:00Z');
const NOW_ARG = ['--now', NOW.toISOString()];
const seconds = (n: number) => new Date(NOW.getTime() + n * 1000);
const daysAgo = (n: number) => new Date(NOW.getTime() - n * DAY);

forEachDatabase('cleanup-survey-progress', (db) => {
  let surveyId: number;
  const env = () => ({ DATABASE_URL: db().url });
  const seed = async (rows: Array<Omit<ProgressValues, 'survey_id'>>) =>
    insertMany(db().knex, 'survey_progress', rows.map((r) => progressRow(db().dialect, { survey_id: surveyId, ...r })));
  const remainingIds = async () => (await db().knex('survey_progress').select('id').orderBy('id')).map((r) => Number(r.id));
  const run = async (...args: string[]) => {
    const res = await runCli(['cleanup-survey-progress', ...NOW_ARG, '--json', ...args], env());
    return { ...res, json: res.stdout ? JSON.parse(res.stdout) : undefined };
  };

  beforeEach(async () => {
    await db().reset();
    surveyId = await insertSurvey(db().knex, db().dialect);
  });

  test('deletes progress whose expires_at has passed; expires_at == now is kept', async () => {
    await seed([
      { session_key: 'past', expires_at: seconds(-1), updated_at: seconds(-10) },
      { session_key: 'exact', expires_at: NOW, updated_at: daysAgo(100) },
      { session_key: 'future', expires_at: seconds(1), updated_at: daysAgo(100) },
    ]);
    const ids = await remainingIds();
    const res = await run();
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.json.summary.deleted, 1);
    assert.deepEqual(await remainingIds(), ids.slice(1));
  });

  test('without expires_at, progress not updated for --older-than-days is expired', async () => {
    await seed([
      { user_id: 1, updated_at: new Date(daysAgo(30).getTime() - 1000) },
      { user_id: 2, updated_at: daysAgo(30) },
      { user_id: 3, updated_at: daysAgo(29) },
      { user_id: 4, updated_at: daysAgo(8) },
    ]);
    const ids = await remainingIds();
    const first = await run();
    assert.equal(first.json.summary.deleted, 1);
    assert.deepEqual(await remainingIds(), ids.slice(1));
    const second = await run('--older-than-days', '7');
    assert.equal(second.json.summary.deleted, 3);
    assert.equal(second.json.summary.olderThanDays, 7);
    assert.deepEqual(await remainingIds(), []);
  });

  test('counts deleted rows by kind: authenticated, anonymous, token-based', async () => {
    const old = { expires_at: daysAgo(1) };
    await seed([
      { ...old, user_id: 10 },
      { ...old, user_id: 11, session_key: 'both' },
      { ...old, session_key: 's1' },
      { ...old, session_key: 's2' },
      { ...old, session_key: 's3' },
      { ...old, access_token: 't1' },
      { expires_at: seconds(60), access_token: 'fresh' },
    ]);
    const res = await run();
    assert.deepEqual(
      { d: res.json.summary.deleted, a: res.json.summary.authenticated, n: res.json.summary.anonymous, t: res.json.summary.token },
      { d: 6, a: 2, n: 3, t: 1 },
    );
    const human = await runCli(['cleanup-survey-progress', ...NOW_ARG], env());
    assert.match(human.stdout, /No expired survey progress records/);
  });

  test('batches smaller than the data: batch size 7 over 100 rows, audited per batch', async () => {
    await seed(Array.from({ length: 100 }, (_, i) => ({ session_key: `s${i}`, expires_at: daysAgo(1 + (i % 5)) })));
    await seed([{ session_key: 'keep', expires_at: seconds(3600) }]);
    const res = await run('--batch-size', '7');
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.json.summary.deleted, 100);
    assert.equal(res.json.summary.batches, 15);
    assert.equal((await remainingIds()).length, 1);
    const audits = await db().knex('audit_log').where({ action: 'survey_progress.deleted' });
    assert.equal(audits.length, 15);
    assert.equal(
      audits.reduce((sum, a) => sum + JSON.parse(a.details).deleted, 0),
      100,
    );
  });

  test('--limit stops after n items and the next run continues', async () => {
    await seed(Array.from({ length: 25 }, (_, i) => ({ access_token: `t${i}`, expires_at: daysAgo(2) })));
    const first = await run('--limit', '10', '--batch-size', '4');
    assert.equal(first.json.summary.deleted, 10);
    assert.equal(first.json.summary.limited, true);
    assert.equal((await remainingIds()).length, 15);
    const second = await run();
    assert.equal(second.json.summary.deleted, 15);
    assert.equal((await remainingIds()).length, 0);
  });

  test('a dry run reports the same counts and leaves every table byte-for-byte the same', async () => {
    await seed(Array.from({ length: 30 }, (_, i) => ({ user_id: i % 3 === 0 ? i : null, session_key: i % 3 === 1 ? `s${i}` : null, access_token: i % 3 === 2 ? `t${i}` : null, expires_at: i % 2 ? daysAgo(1) : seconds(5) })));
    const before = await db().checksum();
    const dry = await run('--dry-run', '--batch-size', '4', '--verbose');
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(await db().checksum(), before);
    assert.match(dry.stderr, /\[dry run\]/);
    assert.match(dry.stderr, /progress \d+ \(survey \d+, anonymous\): expired 2026-11-19 03:00:00 UTC/);
    const real = await run();
    assert.deepEqual(
      { ...real.json.summary, batches: 0 },
      { ...dry.json.summary, batches: 0 },
    );
    assert.notEqual(await db().checksum(), before);
  });

  test('human output: start line, counts by kind, completion line on stdout; nothing on stderr', async () => {
    await seed([
      { user_id: 1, expires_at: daysAgo(1) },
      { session_key: 'a', expires_at: daysAgo(1) },
    ]);
    const res = await runCli(['cleanup-survey-progress', ...NOW_ARG], env());
    assert.equal(res.code, 0);
    assert.equal(res.stderr, '');
    const lines = res.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'Starting survey progress cleanup at 2026-11-20 03:00:00 UTC');
    assert.ok(lines.includes('Deleted 2 expired survey progress records:'), res.stdout);
    assert.ok(lines.includes('  - authenticated: 1'));
    assert.ok(lines.includes('  - anonymous: 1'));
    assert.ok(lines.includes('  - token-based: 0'));
    assert.match(lines[lines.length - 1]!, /^Survey progress cleanup completed at 2026-11-20 03:00:0\d UTC$/);
  });

  test('the snake_case alias runs the same job', async () => {
    await seed([{ session_key: 'x', expires_at: daysAgo(1) }]);
    const res = await runCli(['cleanup_survey_progress', ...NOW_ARG, '--json'], env());
    assert.equal(res.code, 0, res.stderr);
    assert.equal(JSON.parse(res.stdout).summary.deleted, 1);
  });

  test('progress on a terminal for a run of several batches; never under --json or in a pipe', async () => {
    await seed(Array.from({ length: 20 }, (_, i) => ({ session_key: `p${i}`, expires_at: daysAgo(1) })));
    const tty = await runCli(['cleanup-survey-progress', ...NOW_ARG, '--dry-run', '--batch-size', '5'], env(), { tty: true });
    assert.match(tty.stderr, /\r\x1b\[2Kdeleting expired survey progress: 10 items in 2 batches/);
    assert.doesNotMatch(tty.stdout, /\r/);
    const json = await runCli(['cleanup-survey-progress', ...NOW_ARG, '--dry-run', '--batch-size', '5', '--json'], env(), { tty: true });
    assert.doesNotMatch(json.stderr + json.stdout, /\r/);
    const pipe = await runCli(['cleanup-survey-progress', ...NOW_ARG, '--dry-run', '--batch-size', '5'], env());
    assert.doesNotMatch(pipe.stderr + pipe.stdout, /\r/);
  });
});
