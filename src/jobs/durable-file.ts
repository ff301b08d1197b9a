/** Files that must survive a crash once written: archives and backups. */
import { open } from 'node:fs/promises';

/** fsync a file or directory by path: its data (or, for a directory, a rename in it) is on disk. */
export async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
