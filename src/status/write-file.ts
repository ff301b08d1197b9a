/**
 * Writing a page so that a reader (a web server, a browser, a monitor) only ever sees a whole
 * one: the text goes to a temporary file in the same directory, then rename() puts it in place in
 * one step (same file system, so the rename is atomic on POSIX and replaces the file on Windows).
 */
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

export function writeFileAtomically(file: string, text: string): void {
  const target = resolve(file);
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(temp, text, { mode: 0o644 });
    renameSync(temp, target);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}
