/** ISO weeks and day starts in a time zone (the weekly report's and the governance report's periods). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dayIn, dayStart, isoWeekOf, previousIsoWeek } from '../../src/reports/zone-days.js';

test('ISO week labels, including weeks that straddle a year', () => {
  assert.equal(isoWeekOf('2026-11-18', 'UTC').label, '2026-W47');
  assert.equal(isoWeekOf('2026-01-01', 'UTC').label, '2026-W01'); // a Thursday
  assert.equal(isoWeekOf('2027-01-01', 'UTC').label, '2026-W53'); // 2026 has 53 weeks
  assert.equal(isoWeekOf('2027-01-04', 'UTC').label, '2027-W01');
  assert.equal(isoWeekOf('2024-12-30', 'UTC').label, '2025-W01');
  assert.equal(isoWeekOf('2021-01-03', 'UTC').label, '2020-W53');
});

test('day starts and weeks follow the zone, summer time included', () => {
  assert.equal(dayStart('2026-10-25', 'Europe/Berlin').toISOString(), '2026-10-24T22:00:00.000Z');
  assert.equal(dayStart('2026-10-26', 'Europe/Berlin').toISOString(), '2026-10-25T23:00:00.000Z');
  assert.equal(dayStart('2026-03-08', 'America/New_York').toISOString(), '2026-03-08T05:00:00.000Z');
  assert.equal(dayStart('2026-03-09', 'America/New_York').toISOString(), '2026-03-09T04:00:00.000Z');
  assert.equal(dayIn(new Date('2026-10-25T22:30:00Z'), 'Europe/Berlin'), '2026-10-25');
  assert.equal(dayIn(new Date('2026-10-25T23:00:00Z'), 'Europe/Berlin'), '2026-10-26');
  // Monday 07:00 in Berlin reports the week before; so does Sunday 23:59 UTC's own week for the UTC zone.
  const w = previousIsoWeek(new Date('2026-10-26T06:00:00Z'), 'Europe/Berlin');
  assert.deepEqual([w.label, w.start.toISOString(), w.end.toISOString()], ['2026-W43', '2026-10-18T22:00:00.000Z', '2026-10-25T23:00:00.000Z']);
  assert.equal(previousIsoWeek(new Date('2026-11-22T23:59:59Z'), 'UTC').label, '2026-W46');
});
