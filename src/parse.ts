/**
 * Parsers for option values. Each throws UsageError (exit 64) naming the option and the value,
 * so cli.ts can hand them to commander unchanged.
 */
import { UsageError } from './errors.js';

export function positiveInteger(option: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
      throw new UsageError(`${option} must be a whole number of at least 1, not "${value}"`);
    }
    return n;
  };
}

export function integer(option: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
      throw new UsageError(`${option} must be a whole number, not "${value}"`);
    }
    return n;
  };
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `15m`, `2h`, `1h30m`, or a bare number of seconds → milliseconds. */
export function parseDuration(option: string) {
  return (value: string): number => {
    const text = value.trim().toLowerCase();
    if (/^\d+$/.test(text)) {
      const seconds = Number(text);
      if (seconds >= 1) return seconds * 1000;
    }
    const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d)/g)];
    const consumed = parts.map((p) => p[0]).join('');
    if (parts.length === 0 || consumed !== text) {
      throw new UsageError(`${option} must be a duration such as 90s, 15m or 2h, not "${value}"`);
    }
    const ms = parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]!]!, 0);
    if (ms < 1000) throw new UsageError(`${option} must be at least one second, not "${value}"`);
    return ms;
  };
}

/** An ISO-8601 instant. A value without a zone is read as UTC, since every job works in UTC. */
export function parseInstant(option: string) {
  return (value: string): Date => {
    const text = value.trim();
    const hasZone = /(z|[+-]\d{2}:?\d{2})$/i.test(text);
    const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text);
    const iso = dateOnly ? `${text}T00:00:00Z` : hasZone ? text : `${text.replace(' ', 'T')}Z`;
    const d = new Date(iso);
    if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(d.getTime())) {
      throw new UsageError(`${option} must be an ISO-8601 instant such as 2026-11-23T02:00:00Z, not "${value}"`);
    }
    return d;
  };
}

export function idList(option: string) {
  return (value: string): number[] => {
    const ids = value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => {
        if (!/^\d+$/.test(s)) throw new UsageError(`${option} must be a comma-separated list of ids, not "${value}"`);
        return Number(s);
      });
    if (ids.length === 0) throw new UsageError(`${option} names no ids`);
    return ids;
  };
}

/** A calendar day, `YYYY-MM-DD`, that exists. */
export function calendarDay(option: string) {
  return (value: string): string => {
    const text = value.trim();
    const d = new Date(`${text}T00:00:00Z`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== text) {
      throw new UsageError(`${option} must be a day as YYYY-MM-DD, not "${value}"`);
    }
    return text;
  };
}
