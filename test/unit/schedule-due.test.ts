/** What is due: catch-up window, coalesced misses, and a minute-by-minute dispatcher across DST. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { previousSlot } from '../../src/schedule/cron.js';
import { evaluateDue, defaultCatchUpWindow, MAX_CATCH_UP_MS, MISSED_COUNT_LIMIT } from '../../src/schedule/due.js';

const at = (s: string) => new Date(s);
const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;
const HOUR = 3_600_000;

describe('evaluateDue', () => {
  test('on time: the latest slot is due when nothing is recorded for it', () => {
    const d = evaluateDue({ schedule: '0 2 * * *', timeZone: 'UTC', now: at('2026-11-23T02:00:30Z'), recordedSlots: [at('2026-11-22T02:00:00Z')] });
    assert.equal(d.state, 'due');
    assert.equal(iso(d.slot), '2026-11-23T02:00:00.000Z');
    assert.equal(d.lateByMs, 30_000);
    assert.equal(d.missed, null);
    assert.equal(iso(d.next), '2026-11-24T02:00:00.000Z');
  });

  test('already run: nothing to do until the next slot', () => {
    const d = evaluateDue({ schedule: '0 * * * *', timeZone: 'UTC', now: at('2026-11-23T10:20:00Z'), recordedSlots: [at('2026-11-23T10:00:00Z'), at('2026-11-23T09:00:00Z')] });
    assert.equal(d.state, 'already-run');
    assert.equal(iso(d.next), '2026-11-23T11:00:00.000Z');
  });

  test('missed by three days: one catch-up run of the latest slot; the rest reported, not replayed', () => {
    const d = evaluateDue({ schedule: '0 2 * * *', timeZone: 'UTC', now: at('2026-11-23T10:00:00Z'), recordedSlots: [at('2026-11-20T02:00:00Z')] });
    assert.equal(d.state, 'due');
    assert.equal(iso(d.slot), '2026-11-23T02:00:00.000Z');
    assert.deepEqual(
      { count: d.missed?.count, lowerBound: d.missed?.countIsLowerBound, earliest: iso(d.missed?.earliest), latest: iso(d.missed?.latest) },
      { count: 2, lowerBound: false, earliest: '2026-11-21T02:00:00.000Z', latest: '2026-11-22T02:00:00.000Z' },
    );
  });

  test('an hourly job missed for three days runs once, with 71 hours reported missed', () => {
    const d = evaluateDue({ schedule: '0 * * * *', timeZone: 'UTC', now: at('2026-11-23T10:30:00Z'), recordedSlots: [at('2026-11-20T10:00:00Z')] });
    assert.equal(d.state, 'due');
    assert.equal(iso(d.slot), '2026-11-23T10:00:00.000Z');
    assert.equal(d.missed?.count, 71);
  });

  test('a weekly slot older than 24 hours is missed, not run; the window is capped at 24 h', () => {
    const now = at('2026-11-25T12:00:00Z'); // Wednesday; Monday 08:00 was 52 h ago
    assert.equal(defaultCatchUpWindow('0 8 * * 1', now, 'UTC'), MAX_CATCH_UP_MS);
    const d = evaluateDue({ schedule: '0 8 * * 1', timeZone: 'UTC', now, recordedSlots: [at('2026-11-16T08:00:00Z')] });
    assert.equal(d.state, 'missed');
    assert.equal(iso(d.slot), '2026-11-23T08:00:00.000Z');
    assert.equal(d.missed?.count, 1);
    assert.equal(iso(d.missed?.latest), '2026-11-23T08:00:00.000Z');
    assert.equal(iso(d.next), '2026-11-30T08:00:00.000Z');
  });

  test('the same weekly slot within 24 hours is still due', () => {
    const d = evaluateDue({ schedule: '0 8 * * 1', timeZone: 'UTC', now: at('2026-11-24T07:59:00Z'), recordedSlots: [] });
    assert.equal(d.state, 'due');
    assert.equal(d.missed, null);
  });

  test('with nothing recorded, a slot outside the window is reported as the one missed slot', () => {
    const d = evaluateDue({ schedule: '0 8 * * 1', timeZone: 'UTC', now: at('2026-11-25T12:00:00Z'), recordedSlots: [] });
    assert.equal(d.state, 'missed');
    assert.equal(d.missed?.count, 1);
    assert.equal(d.lastRecorded, null);
  });

  test('an explicit catch-up window overrides the default', () => {
    const d = evaluateDue({ schedule: '0 2 * * *', timeZone: 'UTC', now: at('2026-11-23T10:00:00Z'), recordedSlots: [], catchUpWindowMs: HOUR });
    assert.equal(d.state, 'missed');
    assert.equal(d.windowMs, HOUR);
  });

  test('recorded slots after now (a --now in the past) are ignored', () => {
    const d = evaluateDue({ schedule: '0 2 * * *', timeZone: 'UTC', now: at('2026-11-23T03:00:00Z'), recordedSlots: [at('2026-11-25T02:00:00Z')] });
    assert.equal(d.state, 'due');
  });

  test('a very long gap is counted up to the limit and flagged as a lower bound', () => {
    const d = evaluateDue({ schedule: '* * * * *', timeZone: 'UTC', now: at('2026-11-23T10:00:00Z'), recordedSlots: [at('2026-11-01T00:00:00Z')] });
    assert.equal(d.state, 'due');
    assert.equal(d.missed?.count, MISSED_COUNT_LIMIT);
    assert.equal(d.missed?.countIsLowerBound, true);
    assert.equal(iso(d.missed?.latest), '2026-11-23T09:59:00.000Z');
  });
});

/**
 * A dispatcher called every minute (as `* * * * *` in crontab) across a DST day: each slot must run
 * exactly once, whatever the clock does.
 */
describe('minute-by-minute dispatch across DST', () => {
  function simulate(expr: string, zone: string, fromIso: string, hours: number): Date[] {
    const start = Date.parse(fromIso);
    // The slot before the simulation ran already, so only slots inside the window are counted.
    const before = previousSlot(expr, new Date(start - 1), zone);
    const ledger: Date[] = before ? [before] : [];
    const ran: Date[] = [];
    for (let t = start; t <= start + hours * HOUR; t += 60_000) {
      const d = evaluateDue({ schedule: expr, timeZone: zone, now: new Date(t), recordedSlots: ledger.slice(-2) });
      if (d.state === 'due') {
        ran.push(d.slot!);
        ledger.push(d.slot!);
      }
    }
    return ran;
  }

  const cases: Array<[string, string, string, string[]]> = [
    ['Europe/London', '2026-03-28T12:00:00Z', '30 1 * * *', ['2026-03-29T01:00:00.000Z']],
    ['Europe/London', '2026-03-28T12:00:00Z', '30 2 * * *', ['2026-03-29T01:30:00.000Z']],
    ['Europe/London', '2026-10-24T12:00:00Z', '30 1 * * *', ['2026-10-25T00:30:00.000Z']],
    ['Europe/London', '2026-10-24T12:00:00Z', '30 2 * * *', ['2026-10-25T02:30:00.000Z']],
    ['America/New_York', '2026-03-07T17:00:00Z', '30 1 * * *', ['2026-03-08T06:30:00.000Z']],
    ['America/New_York', '2026-03-07T17:00:00Z', '30 2 * * *', ['2026-03-08T07:00:00.000Z']],
    ['America/New_York', '2026-10-31T17:00:00Z', '30 1 * * *', ['2026-11-01T05:30:00.000Z']],
    ['America/New_York', '2026-10-31T17:00:00Z', '30 2 * * *', ['2026-11-01T07:30:00.000Z']],
  ];
  for (const [zone, from, expr, expected] of cases) {
    test(`${zone} from ${from} "${expr}": the daily slot runs once`, () => {
      assert.deepEqual(simulate(expr, zone, from, 23).map(iso), expected);
    });
  }

  for (const [zone, from, realHours] of [
    ['Europe/London', '2026-03-28T23:00:00Z', 23],
    ['Europe/London', '2026-10-24T23:00:00Z', 25],
    ['America/New_York', '2026-03-08T05:00:00Z', 23],
    ['America/New_York', '2026-11-01T04:00:00Z', 25],
  ] as const) {
    test(`${zone} hourly over the local DST day: ${realHours} runs, one per real hour, none twice`, () => {
      const ran = simulate('0 * * * *', zone, from, realHours - 1);
      assert.equal(ran.length, realHours);
      assert.equal(new Set(ran.map(iso)).size, ran.length);
      for (let i = 1; i < ran.length; i++) assert.equal(ran[i]!.getTime() - ran[i - 1]!.getTime(), HOUR);
    });
  }
});
