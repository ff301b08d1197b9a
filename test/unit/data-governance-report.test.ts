/** The data governance report on its own: lines, summary and exit code from a tally, no database. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  closingLines,
  governanceExitCode,
  governanceSummary,
  newTally,
  reportLines,
  SectionLines,
} from '../../src/jobs/data-governance/report.js';

const base = { dryRun: false, warningLines: [], deletionLines: [], stopped: false };

test('a quiet run: zero counts in both sections, no optional lines', () => {
  const lines = reportLines(newTally(), base);
  assert.deepEqual(lines, [
    '',
    '--- Deletion Warnings ---',
    'Sent 0 deletion warnings:',
    '  - 30-day warnings: 0',
    '  - 7-day warnings: 0',
    '  - 1-day warnings: 0',
    '',
    '--- Automatic Deletions ---',
    'Soft deleted: 0 surveys',
    'Hard deleted: 0 surveys',
    'Skipped (legal hold): 0 surveys',
  ]);
  assert.equal(governanceExitCode(newTally()), 0);
});

test('a dry run says "would", and its closing line says nothing was changed', () => {
  const t = newTally();
  t.warnings.sent = 3;
  t.warnings.byDays[7] = 3;
  t.soft.count = 2;
  const lines = reportLines(t, { ...base, dryRun: true });
  assert.ok(lines.includes('Would send 3 deletion warnings:'));
  assert.ok(lines.includes('  - 7-day warnings: 3'));
  assert.ok(lines.includes('Would soft delete: 2 surveys'));
  assert.deepEqual(closingLines(true, new Date('2026-06-01T02:00:05Z')), [
    '',
    'Dry run: nothing was changed and no mail was sent.',
    'Data governance processing completed at 2026-06-01 02:00:05 UTC',
  ]);
});

test('problems, --limit and an early stop each add their line; kept problem lines sit in their section', () => {
  const t = newTally();
  t.warnings.failed = 2;
  t.warnings.deferred = 1;
  t.warnings.invalidEmail = 4;
  t.soft.changed = 1;
  t.hard.changed = 2;
  t.limited = true;
  const lines = reportLines(t, { ...base, warningLines: ['  survey 9: refused'], stopped: true });
  assert.equal(lines[2], '  survey 9: refused');
  for (const expected of [
    'Not sent (owner email missing or invalid): 4 surveys',
    'Failed (rejected by the mail server): 2 warnings',
    'Deferred (temporary mail failure, retried next run): 1 warnings',
    'Left alone (changed by someone else since selected): 3 surveys',
    'Stopped at --limit; more surveys may be due, the next run continues.',
    'Stopped early: the counts above are what was done; the next run continues with the rest.',
  ]) {
    assert.ok(lines.includes(expected), expected);
  }
  assert.equal(governanceExitCode(t), 1, 'failed or deferred warnings make the run partial');
});

test('a mail stop decides the exit code and is named in the summary', () => {
  const t = newTally();
  t.warnings.notSent = 5;
  t.mailBlocked = { reason: 'the mail server cannot be reached: ECONNREFUSED', exitCode: 69 };
  assert.equal(governanceExitCode(t), 69);
  const s = governanceSummary(t);
  assert.equal(s.mailProblem, 'the mail server cannot be reached: ECONNREFUSED');
  assert.equal(s.warningsNotSent, 5);
  assert.ok(reportLines(t, base).includes('Not sent (the mail server cannot be reached: ECONNREFUSED): 5 warnings; nothing was recorded as sent for them'));
});

test('the summary carries every count, the hard-deleted rows copied', () => {
  const t = newTally();
  t.hard.count = 1;
  t.hard.rows.responses = 7;
  t.skippedByHold = 2;
  const s = governanceSummary(t);
  assert.deepEqual(s.hardDeletedRows, { responses: 7, progress: 0, warnings: 0, removedHolds: 0 });
  t.hard.rows.responses = 8;
  assert.equal((s.hardDeletedRows as { responses: number }).responses, 7, 'a snapshot, not the live tally');
  assert.equal(s.hardDeleted, 1);
  assert.equal(s.skippedLegalHold, 2);
});

test('section lines keep at most 20 problems and say how many more; every line goes to --verbose', () => {
  const verbose: string[] = [];
  const section = new SectionLines((text) => verbose.push(text));
  for (let i = 1; i <= 23; i++) section.line(`  survey ${i}: refused`);
  section.detail('  survey 99: sent');
  const lines = section.lines();
  assert.equal(lines.length, 21);
  assert.equal(lines[19], '  survey 20: refused');
  assert.equal(lines[20], '  … and 3 more (all of them with --verbose)');
  assert.equal(verbose.length, 24);
});
