// A `--import` preload for tests of what a process loads: every module node loads (ES modules
// through a loader hook, CommonJS ones from require.cache at exit) is appended, one URL or path a
// line, to the file named by ONTIME_TEST_MODULES_FILE. ontime itself never reads the variable.
import { register } from 'node:module';
import { appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const file = process.env.ONTIME_TEST_MODULES_FILE;
if (file) {
  register(new URL('./record-modules-hooks.mjs', import.meta.url), { data: { file } });
  const require = createRequire(import.meta.url);
  process.on('exit', () => appendFileSync(file, Object.keys(require.cache).join('\n') + '\n'));
}
