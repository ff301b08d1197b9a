#!/usr/bin/env node
/**
 * The start-up build: src/cli.ts and everything it imports, bundled by esbuild into
 * dist/bundle/ontime.js plus chunks that load only when a command needs them (each lazy
 * `import()` of ours is a split point). bin/ontime starts from this bundle: a few files instead
 * of ~400 modules (knex alone is ~370 CommonJS files, lodash's included), which is most of a
 * no-op run's start-up and memory (docs/performance.md, "Start-up and memory").
 *
 * Kept outside the bundle, loaded from node_modules as before: the database drivers (a missing
 * one is still a configuration error naming the package, exit 78; better-sqlite3 is native) and
 * yaml. knex (without the dialects ontime never uses) and nodemailer are bundled, each into a
 * chunk of its own that only the commands using them load.
 * tsc's dist/ stays as it is: tests import its modules, and the supervisor of external jobs is
 * started from dist/jobs/external/supervisor.js.
 * Run by `npm run build` after tsc. esbuild is a devDependency (also used by tsx); an installed
 * package never builds.
 */
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;

/**
 * Packages loaded from node_modules at run time: the drivers (knex's own lazy `require` of each
 * included), and yaml, whose CommonJS build gives a bundled `await import('yaml')` no named
 * exports (`parse is not a function`); it loads only with a jobs file.
 */
const EXTERNAL = ['pg', 'pg-native', 'pg-query-stream', 'mysql2', 'better-sqlite3', 'mysql', 'mariadb', 'sqlite3', 'tedious', 'oracledb', 'yaml'];

/** knex dialects ontime does not support: left out of the bundle (knex would only reach them for their client names). */
const UNUSED_DIALECTS = /^\.\/(cockroachdb|mssql|mysql|mariadb|oracle|oracledb|pgnative|redshift|sqlite3)$/;

const leaveOutUnusedDialects = {
  name: 'leave-out-unused-knex-dialects',
  setup(b) {
    b.onResolve({ filter: UNUSED_DIALECTS }, (args) =>
      /[\\/]knex[\\/]lib[\\/]dialects$/.test(args.resolveDir) ? { path: args.path, namespace: 'unused-dialect' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'unused-dialect' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`knex dialect ${args.path.slice(2)} is not part of ontime`)});`,
      loader: 'js',
    }));
  },
};

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { ontime: `${root}src/cli.ts` },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunks/[name]-[hash]',
  external: EXTERNAL,
  plugins: [leaveOutUnusedDialects],
  // Less to parse at every start; names are kept, so stack traces stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  // Bundled CommonJS (commander, knex) calls require(); an ES module has none of its own.
  banner: { js: "import{createRequire as __ontimeCreateRequire}from'node:module';const require=__ontimeCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
