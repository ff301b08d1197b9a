/**
 * Calendar days and ISO weeks in a time zone (ONTIME_TIMEZONE): where a day or a week starts, as
 * an instant, with the zone's daylight-saving changes taken into account.
 */
import { addDays } from '../db/time.js';

/** The zone's offset from UTC at an instant, in ms (positive east of Greenwich). */
function offsetMs(at: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
  }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(at.getTime() / 1000) * 1000;
}

/** The instant a calendar day (YYYY-MM-DD) starts in the zone. */
export function dayStart(day: string, timeZone: string): Date {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const wall = Date.UTC(y, m - 1, d);
  // Two rounds: the offset at the first guess may differ from the offset at the answer (DST).
  let t = wall - offsetMs(new Date(wall), timeZone);
  t = wall - offsetMs(new Date(t), timeZone);
  return new Date(t);
}

/** The calendar day (YYYY-MM-DD) an instant falls on in the zone. */
export function dayIn(at: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

/** Every day from `from` to `to`, both included. */
export function daysFrom(from: string, to: string): string[] {
  const days: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) days.push(d);
  return days;
}

export interface IsoWeek {
  /** e.g. `2026-W47` */
  label: string;
  /** Monday, YYYY-MM-DD */
  monday: string;
  start: Date;
  /** The next Monday 00:00 in the zone (exclusive). */
  end: Date;
}

/** The ISO week (Monday to Monday in the zone) that contains the day. */
export function isoWeekOf(day: string, timeZone: string): IsoWeek {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const weekday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7; // Monday 0
  const monday = addDays(day, -weekday);
  // The ISO year is the year of the week's Thursday.
  const thursday = addDays(monday, 3);
  const isoYear = Number(thursday.slice(0, 4));
  const jan4 = `${isoYear}-01-04`;
  const jan4Weekday = (new Date(`${jan4}T00:00:00Z`).getUTCDay() + 6) % 7;
  const week1Monday = addDays(jan4, -jan4Weekday);
  const week = Math.round((Date.parse(`${monday}T00:00:00Z`) - Date.parse(`${week1Monday}T00:00:00Z`)) / (7 * 86_400_000)) + 1;
  return {
    label: `${isoYear}-W${String(week).padStart(2, '0')}`,
    monday,
    start: dayStart(monday, timeZone),
    end: dayStart(addDays(monday, 7), timeZone),
  };
}

/** The ISO week before the one `now` falls in (in the zone): what a Monday-morning report covers. */
export function previousIsoWeek(now: Date, timeZone: string): IsoWeek {
  const current = isoWeekOf(dayIn(now, timeZone), timeZone);
  return isoWeekOf(addDays(current.monday, -7), timeZone);
}
