/**
 * The audit_log archive file: gzip-compressed JSON Lines, one object per row, written under a
 * temporary name, fsynced, renamed to a name that carries its range, and the directory fsynced,
 * so a file with the final name is always complete. Readable by the owner only (0600).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { fromDbInstant } from '../../db/time.js';
import type { AuditRow } from '../../db/housekeeping.js';
import { syncPath } from '../durable-file.js';

export interface ArchiveWritten {
  file: string;
  rows: number;
  firstId: number;
  lastId: number;
  ids: number[];
}

/** 2026-11-20T03:00:00.000Z → 20261120T030000Z (no colons: valid on every file system). */
function compact(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

export function archiveFileName(firstAt: Date, lastAt: Date, firstId: number, lastId: number): string {
  return `audit_log-${compact(firstAt)}-${compact(lastAt)}-id${firstId}-${lastId}.jsonl.gz`;
}

export function archiveLine(row: AuditRow): string {
  return JSON.stringify({ ...row, at: fromDbInstant(row.at)?.toISOString() ?? null }) + '\n';
}

/**
 * Write every row `pages` yields into one archive in `dir`. Returns null when there were none
 * (no file is left behind). The ids returned are exactly the rows in the file.
 */
export async function writeAuditArchive(dir: string, pages: AsyncIterable<AuditRow[]>, runTag: string): Promise<ArchiveWritten | null> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temporary = join(dir, `.audit_log-${runTag}.jsonl.gz.partial`);
  const ids: number[] = [];
  let firstAt: Date | null = null;
  let lastAt: Date | null = null;
  async function* lines() {
    for await (const page of pages) {
      for (const row of page) {
        const at = fromDbInstant(row.at)!;
        if (!firstAt || at < firstAt) firstAt = at;
        if (!lastAt || at > lastAt) lastAt = at;
        ids.push(row.id);
        yield archiveLine(row);
      }
    }
  }
  try {
    await pipeline(Readable.from(lines()), createGzip(), createWriteStream(temporary, { mode: 0o600 }));
    await syncPath(temporary);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
  if (ids.length === 0) {
    await rm(temporary, { force: true });
    return null;
  }
  const file = join(dir, archiveFileName(firstAt!, lastAt!, ids[0]!, ids[ids.length - 1]!));
  await rename(temporary, file);
  await syncPath(dir);
  return { file, rows: ids.length, firstId: ids[0]!, lastId: ids[ids.length - 1]!, ids };
}
