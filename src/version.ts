/**
 * The installed package: its root directory and its version. Found from this module's own place,
 * which is src/, dist/ or dist/bundle/chunks/ (the bundle bin/ontime starts from): the nearest
 * directory above that holds ontime's package.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: { dir: string; version: string } | undefined;

function packageRootAndVersion(): { dir: string; version: string } {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'ontime') return (root = { dir, version: pkg.version });
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`ontime's package.json not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** The directory of ontime's package.json (holds bin/, dist/). */
export function packageRoot(): string {
  return packageRootAndVersion().dir;
}

export function packageVersion(): string {
  return packageRootAndVersion().version;
}
