import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addDays, fromDbDay, fromDbInstant, sqliteInstant, toDbInstant, utcDay } from '../../src/db/time.js';
import { LIMITS, parseDuration, parseInstant, positiveInteger } from '../../src/parse.js';
import { colourWanted } from '../../src/output.js';

describe('instants in storage form', () => {
  test('SQLite text is Django’s form: fraction only when there is one', () => {
    assert.equal(sqliteInstant(new Date('2026-11-22T10:00:00.000Z')), '2026-11-22 10:00:00');
    assert.equal(sqliteInstant(new Date('2026-11-22T10:00:00.120Z')), '2026-11-22 10:00:00.120000');
  });

  test('text comparison of the SQLite form is chronological', () => {
    const instants = ['2026-11-22T10:00:00.000Z', '2026-11-22T10:00:00.001Z', '2026-11-22T10:00:01.000Z', '2026-11-22T09:59:59.999Z'];
    const byText = [...instants].sort((a, b) => (sqliteInstant(new Date(a)) < sqliteInstant(new Date(b)) ? -1 : 1));
    const byTime = [...instants].sort((a, b) => Date.parse(a) - Date.parse(b));
    assert.deepEqual(byText, byTime);
  });

  test('every stored form reads back as the same instant', () => {
    const expected = '2026-11-22T10:11:12.345Z';
    for (const stored of ['2026-11-22 10:11:12.345000', '2026-11-22T10:11:12.345Z', '2026-11-22 11:11:12.345+01:00', new Date(expected)]) {
      assert.equal(fromDbInstant(stored)?.toISOString(), expected, String(stored));
    }
    assert.equal(fromDbInstant('2026-11-22 10:11:12')?.toISOString(), '2026-11-22T10:11:12.000Z');
    assert.equal(fromDbInstant(null), null);
  });

  test('PostgreSQL and MySQL bind Dates; SQLite binds text', () => {
    const d = new Date('2026-01-01T00:00:00Z');
    assert.equal(toDbInstant('postgres', d), d);
    assert.equal(toDbInstant('mysql', d), d);
    assert.equal(toDbInstant('sqlite', d), '2026-01-01 00:00:00');
  });

  test('days', () => {
    assert.equal(utcDay(new Date('2026-11-22T23:59:59.999Z')), '2026-11-22');
    assert.equal(addDays('2026-02-27', 2), '2026-03-01');
    assert.equal(addDays('2028-02-28', 1), '2028-02-29');
    assert.equal(fromDbDay('2026-03-29'), '2026-03-29');
  });
});

describe('option values', () => {
  test('durations', () => {
    const p = parseDuration('--timeout', LIMITS.timeoutMs);
    assert.equal(p('90s'), 90_000);
    assert.equal(p('15m'), 900_000);
    assert.equal(p('2h'), 7_200_000);
    assert.equal(p('1h30m'), 5_400_000);
    assert.equal(p('45'), 45_000);
    assert.throws(() => p('soon'), /--timeout must be a duration/);
    assert.throws(() => p('0s'), /at least one second/);
  });

  test('instants: a value without a zone is UTC', () => {
    const p = parseInstant('--now');
    assert.equal(p('2026-11-23T02:00:00').toISOString(), '2026-11-23T02:00:00.000Z');
    assert.equal(p('2026-11-23T03:00:00+01:00').toISOString(), '2026-11-23T02:00:00.000Z');
    assert.equal(p('2026-11-23').toISOString(), '2026-11-23T00:00:00.000Z');
    assert.throws(() => p('yesterday'), /ISO-8601/);
  });

  test('positive integers', () => {
    const p = positiveInteger('--limit', LIMITS.limit);
    assert.equal(p('7'), 7);
    for (const bad of ['0', '-1', '1.5', 'x', '']) assert.throws(() => p(bad), /--limit/);
  });
});

describe('colour', () => {
  const tty = { isTTY: true, write() {} };
  const pipe = { isTTY: false, write() {} };
  test('on a terminal, off in a pipe', () => {
    assert.equal(colourWanted({}, tty), true);
    assert.equal(colourWanted({}, pipe), false);
  });
  test('NO_COLOR set and non-empty turns it off; empty NO_COLOR does not', () => {
    assert.equal(colourWanted({ NO_COLOR: '1' }, tty), false);
    assert.equal(colourWanted({ NO_COLOR: '' }, tty), true);
  });
  test('FORCE_COLOR forces it, even in a pipe and over NO_COLOR', () => {
    assert.equal(colourWanted({ FORCE_COLOR: '1' }, pipe), true);
    assert.equal(colourWanted({ FORCE_COLOR: '1', NO_COLOR: '1' }, pipe), true);
    assert.equal(colourWanted({ FORCE_COLOR: '0' }, tty), true);
    assert.equal(colourWanted({ FORCE_COLOR: '0' }, pipe), false);
  });
});
