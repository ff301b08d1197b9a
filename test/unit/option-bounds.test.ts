/** Every numeric option has an upper bound (64 naming it), ids are safe integers, dates are real dates. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ExitCode } from '../../src/errors.js';
import { caseIdList, idList, LIMITS, parseInstant } from '../../src/parse.js';
import { runCli } from '../helpers/cli.js';

/** Options are checked before any database is opened: the DATABASE_URL points nowhere. */
const run = (args: string[]) => runCli(args, { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });

describe('option bounds', () => {
  const cases: Array<[string[], RegExp]> = [
    [['cleanup-survey-progress', '--older-than-days', '200000000'], /--older-than-days must be a whole number from 1 to 36500/],
    [['release-scheduled-cases', '--timeout', '3000000d'], /--timeout must be at most 604800s \(7d\)/],
    [['release-scheduled-cases', '--timeout', '99999999999999999999'], /--timeout must be at most/],
    [['release-scheduled-cases', '--batch-size', '70000'], /--batch-size must be auto or a whole number from 1 to 10000/],
    [['release-scheduled-cases', '--batch-time', '5ms'], /--batch-time must be at least 10ms/],
    [['release-scheduled-cases', '--batch-time', '2m'], /--batch-time must be at most 60s,/],
    [['release-scheduled-cases', '--limit', '1000000000000'], /--limit must be a whole number from 1 to 100000000/],
    [['bulk-update-case-status', '--from', '3000000000', '--to', '20'], /--from must be a whole number from -2147483648 to 2147483647/],
    [['bulk-update-case-status', '--from', '10', '--to', '20', '--ids', '99999999999999999999'], /--ids must be a comma-separated list of ids from 1 to 9007199254740991/],
    [['bulk-update-case-status', '--from', '10', '--to', '20', '--ids', '9007199254740993'], /--ids/],
    [['release-scheduled-cases', '--now', '2026-02-31T02:00:00Z'], /--now must be an ISO-8601 instant/],
    [['release-scheduled-cases', '--now', '2026-11-23T24:00:00Z'], /--now must be an ISO-8601 instant/],
    [['history', '--limit', '1000000000000'], /--limit must be a whole number from 1 to/],
  ];
  for (const [args, message] of cases) {
    test(`${args.join(' ')} → 64`, async () => {
      const r = await run(args);
      assert.equal(r.code, ExitCode.usage, r.stdout + r.stderr);
      assert.match(r.stderr, message);
    });
  }

  test('--ids: the largest safe integer is accepted as written; a list longer than the bound is not', () => {
    assert.deepEqual(idList('--ids')('1, 9007199254740991'), [1, 9007199254740991]);
    // Case ids: plain numbers as numbers, other keys (string-keyed profiles) as written.
    assert.deepEqual(caseIdList('--ids')('12, SC-1,007'), [12, 'SC-1', '007']);
    assert.throws(() => caseIdList('--ids')('a\u0001b'), /--ids: "a\\u0001b" is not a case id/);
    assert.throws(() => caseIdList('--ids')('99999999999999999999'), /from 1 to 9007199254740991/);
    assert.throws(() => idList('--ids')(Array.from({ length: LIMITS.ids + 1 }, (_, i) => i + 1).join(',')), /at most 10000/);
  });

  test('strict calendar dates: leap days only in leap years', () => {
    assert.equal(parseInstant('--now')('2028-02-29').toISOString(), '2028-02-29T00:00:00.000Z');
    assert.throws(() => parseInstant('--now')('2026-02-29'), /ISO-8601/);
    assert.throws(() => parseInstant('--now')('2026-04-31T00:00:00Z'), /ISO-8601/);
  });
});
