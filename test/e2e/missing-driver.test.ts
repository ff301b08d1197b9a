/**
 * A database driver the installation lacks (an application that pruned it, an install without
 * optional packages) is a configuration error naming the package, not a stack trace. The driver
 * is made unresolvable for one process with a module resolve hook, so the checkout stays intact;
 * scripts/test-package.mjs does the same by removing `pg` from a real installation.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { binPath, emptyCwd, testEnv } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'ontime-no-driver-'));
writeFileSync(
  join(dir, 'hooks.mjs'),
  `export async function resolve(specifier, context, next) {
    if (specifier === process.env.HIDE_PACKAGE) {
      const err = new Error(\`Cannot find package '\${specifier}' imported from \${context.parentURL}\`);
      err.code = 'ERR_MODULE_NOT_FOUND';
      throw err;
    }
    return next(specifier, context);
  }\n`,
);
writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);

const cases: Array<[pkg: string, url: string]> = [
  ['pg', 'postgres://someone@127.0.0.1:1/cases'],
  ['mysql2', 'mysql://someone@127.0.0.1:1/cases'],
  ['better-sqlite3', `sqlite:${join(dir, 'x.sqlite3')}`],
];

for (const [pkg, url] of cases) {
  test(`without ${pkg}: exit 78, "install ${pkg}", no stack trace`, () => {
    const r = spawnSync(process.execPath, ['--import', join(dir, 'register.mjs'), binPath, 'migrate'], {
      cwd: emptyCwd,
      env: testEnv({ DATABASE_URL: url, HIDE_PACKAGE: pkg }),
      encoding: 'utf8',
    });
    assert.equal(r.status, 78, r.stderr);
    assert.match(r.stderr, new RegExp(`driver is not installed \\(package "${pkg}"\\)`));
    assert.match(r.stderr, new RegExp(`install ${pkg}: npm install ${pkg}`));
    assert.doesNotMatch(r.stderr, /^\s+at /m);
  });
}
