/**
 * doctor on SQLite: instants and days in the compared columns must have the one spelling the jobs
 * compare as text (src/db/timestamp-forms.ts). Each column with other spellings is a finding (78)
 * until `ontime doctor --fix-timestamps --yes` rewrites them; values it cannot read stay, listed.
 */
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import { ExitCode } from '../errors.js';
import type { Finding } from './doctor.js';

const SHOWN = 5;

export async function checkTimestamps(knex: Knex, config: Config, fix: boolean, add: (f: Finding) => void): Promise<void> {
  if (config.database.dialect !== 'sqlite') {
    if (fix) add({ check: 'timestamps', level: 'ok', message: `--fix-timestamps: nothing to do on ${config.database.dialect}, which stores instants as typed values, not text` });
    return;
  }
  const { fixTimestampForms, scanTimestampForms } = await import('../db/timestamp-forms.js');
  const unreadable = new Map<string, Array<{ id: number; value: string }>>();
  if (fix) {
    for (const r of await fixTimestampForms(knex)) {
      const where = `${r.table}.${r.column}`;
      if (r.rewritten > 0) add({ check: 'timestamps', level: 'ok', message: `${where}: rewrote ${r.rewritten} value${r.rewritten === 1 ? '' : 's'} to the canonical form (same instant)` });
      if (r.unreadable.length > 0) unreadable.set(where, r.unreadable);
    }
  }
  const off = await scanTimestampForms(knex);
  for (const c of off) {
    const where = `${c.table}.${c.column}`;
    const cannot = unreadable.get(where);
    add({
      check: 'timestamps',
      level: 'fail',
      message: cannot
        ? `${where}: ${cannot.length} value${cannot.length === 1 ? '' : 's'} cannot be read as an instant and ${cannot.length === 1 ? 'was' : 'were'} left unchanged: ${cannot.slice(0, SHOWN).map((u) => `id ${u.id} "${u.value}"`).join(', ')}${cannot.length > SHOWN ? ', …' : ''}`
        : `${where}: ${c.count} value${c.count === 1 ? '' : 's'} not in the canonical form ${c.kind === 'day' ? 'YYYY-MM-DD' : 'YYYY-MM-DD HH:MM:SS[.ffffff] (UTC)'}, e.g. "${c.example}"; the jobs compare them as text and can miss a boundary`,
      fix: cannot ? 'correct these values by hand (ontime never guesses an instant)' : '`ontime doctor --fix-timestamps --yes` rewrites them in batches to the same instant in the canonical form',
      exitCode: ExitCode.config,
    });
  }
  if (off.length === 0) add({ check: 'timestamps', level: 'ok', message: 'every compared instant and day has the canonical form' });
}
