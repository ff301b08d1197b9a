/**
 * node_exporter's textfile collector: one .prom file that several jobs share. Each write keeps
 * the other jobs' series, replaces this job's, and lands whole: written to a temporary file in the
 * same directory, then renamed over the old one (the collector reads only *.prom, and a rename is
 * atomic, so it sees the old file or the new one, never half of one). A short lock file keeps two
 * jobs finishing at the same moment from losing each other's update.
 */
import { open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseExposition, renderExposition } from './exposition.js';
import { OUTBOX_FAMILIES, type Sample } from './series.js';

const LOCK_WAIT_MS = 3000;
/** A lock file older than this was left by a process that died mid-write. */
const LOCK_STALE_MS = 30_000;

async function takeLock(lockPath: string): Promise<() => Promise<void>> {
  const giveUpAt = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.close();
      return () => unlink(lockPath).catch(() => undefined);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(lockPath).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > LOCK_STALE_MS) await unlink(lockPath).catch(() => undefined);
      else if (Date.now() > giveUpAt) throw new Error(`${lockPath} is held by another writer`);
      else await new Promise((res) => setTimeout(res, 20));
    }
  }
}

/** The samples already in the file, skipping lines that are not valid exposition format. */
async function existingSamples(path: string): Promise<Sample[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return text.split('\n').flatMap((line) => {
    try {
      return parseExposition(line);
    } catch {
      return [];
    }
  });
}

/** Whether an existing sample is replaced by this write: this job's (and shard's) series, and the outbox's when we have fresh ones. */
function replacedBy(ours: Sample[]): (s: Sample) => boolean {
  const keys = new Set(ours.filter((s) => s.labels.job).map((s) => `${s.labels.job}\u0000${s.labels.shard ?? ''}`));
  const freshOutbox = ours.some((s) => OUTBOX_FAMILIES.has(s.name));
  return (s) =>
    (s.labels.job !== undefined && keys.has(`${s.labels.job}\u0000${s.labels.shard ?? ''}`)) ||
    (freshOutbox && OUTBOX_FAMILIES.has(s.name));
}

export async function writeTextfile(path: string, ours: Sample[]): Promise<void> {
  const release = await takeLock(`${path}.lock`);
  try {
    const replaced = replacedBy(ours);
    const kept = (await existingSamples(path)).filter((s) => !replaced(s));
    const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
    try {
      await writeFile(temp, renderExposition([...kept, ...ours]), { mode: 0o644 });
      await rename(temp, path);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    }
  } finally {
    await release();
  }
}
