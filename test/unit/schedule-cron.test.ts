/** Cron parsing, slots and the DST rule (docs/scheduling.md). Pure: no database. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  CronExpressionError,
  TimeZoneError,
  nextSlot,
  parseCron,
  periodAt,
  previousSlot,
  slotsBetween,
} from '../../src/schedule/cron.js';
import { jobs } from '../../src/registry.js';

const iso = (d: Date | null) => d?.toISOString() ?? null;
const at = (s: string) => new Date(s);

describe('parseCron', () => {
  test('every default schedule in the registry parses', () => {
    for (const job of jobs) if (job.schedule) assert.equal(parseCron(job.schedule).expression, job.schedule);
  });

  test('expands fields for the exporters', () => {
    const s = parseCron('*/15 8-10 * * MON,wed');
    assert.deepEqual(s.fields.minutes, [0, 15, 30, 45]);
    assert.deepEqual(s.fields.hours, [8, 9, 10]);
    assert.deepEqual(s.fields.daysOfWeek, [1, 3]);
    assert.equal(s.fields.anyDayOfMonth, true);
    assert.equal(s.fields.anyDayOfWeek, false);
    assert.deepEqual(parseCron('0 8 * * 7').fields.daysOfWeek, [0], 'day 7 is Sunday');
  });

  test('fixed-time versus interval schedules', () => {
    assert.equal(parseCron('30 1 * * *').fixedTime, true);
    assert.equal(parseCron('30 1,13 * * *').fixedTime, true);
    assert.equal(parseCron('0 * * * *').fixedTime, false);
    assert.equal(parseCron('*/15 * * * *').fixedTime, false);
  });

  const bad: Array<[string, RegExp]> = [
    ['0 0 * *', /has 4 fields; a schedule has exactly five/],
    ['0 0 0 * * *', /has 6 fields/],
    ['', /is empty/],
    ['61 * * * *', /is not valid: .*minute.*61/i],
    ['@daily', /nickname.*0 0 \* \* \*/],
    ['0 0 L * *', /"L".*day-of-month/],
    ['0 8 * * MON#2', /"#".*day-of-week/],
    ['0 0 30 2 *', /never matches/],
    ['a b c d e', /is not valid/],
  ];
  for (const [expression, message] of bad) {
    test(`refuses "${expression}" and says why`, () => {
      assert.throws(
        () => parseCron(expression),
        (err: unknown) => err instanceof CronExpressionError && err.message.includes(`"${expression}"`) && message.test(err.message),
      );
    });
  }

  test('an unknown time zone is named', () => {
    assert.throws(() => nextSlot('0 * * * *', new Date(), 'Mars/Olympus'), (e: unknown) => e instanceof TimeZoneError && /Mars\/Olympus/.test((e as Error).message));
  });
});

describe('slots', () => {
  test('previousSlot includes an instant exactly on a slot; nextSlot excludes it', () => {
    assert.equal(iso(previousSlot('0 * * * *', at('2026-01-01T10:00:00Z'), 'UTC')), '2026-01-01T10:00:00.000Z');
    assert.equal(iso(previousSlot('0 * * * *', at('2026-01-01T09:59:59.999Z'), 'UTC')), '2026-01-01T09:00:00.000Z');
    assert.equal(iso(nextSlot('0 * * * *', at('2026-01-01T10:00:00Z'), 'UTC')), '2026-01-01T11:00:00.000Z');
  });

  test('weekly schedules: Monday and Thursday 08:00 UTC', () => {
    assert.equal(iso(previousSlot('0 8 * * 1', at('2026-11-25T12:00:00Z'), 'UTC')), '2026-11-23T08:00:00.000Z');
    assert.equal(iso(nextSlot('0 8 * * 4', at('2026-11-25T12:00:00Z'), 'UTC')), '2026-11-26T08:00:00.000Z');
  });

  test('slotsBetween is (after, atOrBefore], oldest first, and honours its limit', () => {
    const slots = slotsBetween('0 * * * *', at('2026-01-01T10:00:00Z'), at('2026-01-01T13:00:00Z'), 'UTC');
    assert.deepEqual(slots.map(iso), ['2026-01-01T11:00:00.000Z', '2026-01-01T12:00:00.000Z', '2026-01-01T13:00:00.000Z']);
    assert.equal(slotsBetween('* * * * *', at('2026-01-01T00:00:00Z'), at('2026-02-01T00:00:00Z'), 'UTC', 50).length, 50);
  });

  test('a time zone shifts slots: 02:00 in Europe/London is 01:00 UTC in summer', () => {
    assert.equal(iso(previousSlot('0 2 * * *', at('2026-07-01T12:00:00Z'), 'Europe/London')), '2026-07-01T01:00:00.000Z');
  });

  test('periodAt: hourly 1 h, daily 24 h, weekly 7 d; 23 h across spring-forward', () => {
    const now = at('2026-06-10T12:00:00Z');
    assert.equal(periodAt('0 * * * *', now, 'UTC'), 3_600_000);
    assert.equal(periodAt('0 2 * * *', now, 'UTC'), 86_400_000);
    assert.equal(periodAt('0 8 * * 1', now, 'UTC'), 7 * 86_400_000);
    assert.equal(periodAt('0 3 * * *', at('2026-03-29T12:00:00Z'), 'Europe/London'), 23 * 3_600_000);
  });

  test('property: previousSlot(t) <= t < nextSlot(previousSlot(t)), and nextSlot(t) is the first slot after t', () => {
    const exprs = ['0 * * * *', '5 * * * *', '0 2 * * *', '30 1 * * *', '0 8 * * 1', '*/15 * * * *', '30 2 * * *'];
    const zones = ['UTC', 'Europe/London', 'America/New_York'];
    fc.assert(
      fc.property(
        fc.constantFrom(...exprs),
        fc.constantFrom(...zones),
        fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2028, 0, 1) }),
        (expr, zone, ms) => {
          const t = new Date(ms);
          const prev = previousSlot(expr, t, zone)!;
          assert.ok(prev.getTime() <= ms);
          assert.ok(nextSlot(expr, prev, zone)!.getTime() > ms);
          const next = nextSlot(expr, t, zone)!;
          assert.ok(next.getTime() > ms);
          assert.equal(iso(previousSlot(expr, new Date(next.getTime() - 1), zone)), iso(prev));
        },
      ),
      { numRuns: 300 },
    );
  });
});

/**
 * The DST rule. For each zone's spring-forward and fall-back days, the slots of the local day.
 * London: 2026-03-29 01:00 GMT → 02:00 BST; 2026-10-25 02:00 BST → 01:00 GMT.
 * New York: 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST.
 */
describe('DST', () => {
  // [zone, local day, expression, expected UTC instants on that local day]
  const daily: Array<[string, string, string, string[]]> = [
    // 01:30 does not exist in London on 29 March: it runs once, at the jump (02:00 BST).
    ['Europe/London', '2026-03-29', '30 1 * * *', ['2026-03-29T01:00:00.000Z']],
    ['Europe/London', '2026-03-29', '30 2 * * *', ['2026-03-29T01:30:00.000Z']],
    // 01:30 happens twice in London on 25 October: it runs once, at the first (BST).
    ['Europe/London', '2026-10-25', '30 1 * * *', ['2026-10-25T00:30:00.000Z']],
    ['Europe/London', '2026-10-25', '30 2 * * *', ['2026-10-25T02:30:00.000Z']],
    ['America/New_York', '2026-03-08', '30 1 * * *', ['2026-03-08T06:30:00.000Z']],
    // 02:30 does not exist in New York on 8 March: once, at the jump (03:00 EDT).
    ['America/New_York', '2026-03-08', '30 2 * * *', ['2026-03-08T07:00:00.000Z']],
    // 01:30 happens twice in New York on 1 November: once, at the first (EDT).
    ['America/New_York', '2026-11-01', '30 1 * * *', ['2026-11-01T05:30:00.000Z']],
    ['America/New_York', '2026-11-01', '30 2 * * *', ['2026-11-01T07:30:00.000Z']],
  ];

  function localDay(zone: string, d: Date): string {
    return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
  }
  function slotsOnLocalDay(expr: string, zone: string, day: string): Date[] {
    const from = new Date(Date.parse(`${day}T00:00:00Z`) - 24 * 3_600_000);
    const to = new Date(Date.parse(`${day}T00:00:00Z`) + 48 * 3_600_000);
    return slotsBetween(expr, from, to, zone).filter((s) => localDay(zone, s) === day);
  }

  for (const [zone, day, expr, expected] of daily) {
    test(`${zone} ${day} "${expr}": once, at ${expected.join(', ')}`, () => {
      assert.deepEqual(slotsOnLocalDay(expr, zone, day).map(iso), expected);
    });
  }

  const hourly: Array<[string, string, number]> = [
    ['Europe/London', '2026-03-29', 23],
    ['Europe/London', '2026-10-25', 25],
    ['America/New_York', '2026-03-08', 23],
    ['America/New_York', '2026-11-01', 25],
  ];
  for (const [zone, day, hours] of hourly) {
    for (const expr of ['0 * * * *', '5 * * * *']) {
      test(`${zone} ${day} "${expr}": one slot per real hour (${hours}), one hour apart`, () => {
        const slots = slotsOnLocalDay(expr, zone, day);
        assert.equal(slots.length, hours);
        for (let i = 1; i < slots.length; i++) assert.equal(slots[i]!.getTime() - slots[i - 1]!.getTime(), 3_600_000);
      });
    }
  }
});
