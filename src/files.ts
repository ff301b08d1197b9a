/**
 * The files ontime writes, written so another local user can neither read them nor redirect them:
 * directories it creates are 0700, files 0600; a temporary file has a random name and is created
 * exclusively without following symlinks, and the final name is linked, never overwritten, so a
 * symlink planted in a shared directory cannot make ontime write through it. (Modes are POSIX;
 * Windows ignores them and relies on the directory's ACL.)
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, existsSync, linkSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

// O_NOFOLLOW does not exist on Windows; there the exclusive create alone refuses an existing name.
const EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

/** mkdir -p, with 0700 for every directory it creates (existing ones are left as they are). */
export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/** Create `path` empty and 0600 unless something (file, symlink) already has that name. */
export function createPrivateFileIfMissing(path: string): void {
  if (existsSync(path)) return;
  try {
    closeSync(openSync(path, EXCLUSIVE, PRIVATE_FILE_MODE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/**
 * Write `data` to a new file `name` in `dir` (0600), complete or not at all. Returns the name used:
 * when `name` is taken (say, by a planted symlink) a random suffix is added rather than replacing it.
 */
export function writeNewPrivateFile(dir: string, name: string, data: Buffer | string): string {
  const tmp = join(dir, `.${randomBytes(12).toString('hex')}.tmp`);
  const fd = openSync(tmp, EXCLUSIVE, PRIVATE_FILE_MODE);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
  } finally {
    closeSync(fd);
  }
  try {
    for (let attempt = 0; ; attempt++) {
      const finalName = attempt === 0 ? name : name.replace(/(\.[^.]*)?$/, `-${randomBytes(4).toString('hex')}$1`);
      try {
        // link(2) never follows or replaces an existing name, unlike rename(2).
        linkSync(tmp, join(dir, finalName));
        return finalName;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw err;
      }
    }
  } finally {
    unlinkSync(tmp);
  }
}
