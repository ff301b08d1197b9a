// A `--import` preload for tests that start real ontime processes (node --import <this> bin/ontime).
// It installs the run's test seams (src/runner/hooks.ts) from two variables of the test's own:
//   ONTIME_TEST_GO_FILE=<path>       before its lock, a real run prints `test hook: waiting for <path>`
//                                    and waits for that file, so many processes contend at one instant;
//   ONTIME_TEST_BATCH_DELAY_MS=<ms>  before every batch, a real run prints `test hook: waiting <ms>ms
//                                    before the next batch` and waits, so a test can signal, pause or
//                                    kill it between batches.
// ontime itself never reads these variables.
import { existsSync } from 'node:fs';
import { setProcessHooks } from '../../dist/runner/hooks.js';

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
const goFile = process.env.ONTIME_TEST_GO_FILE;
const delayMs = Number(process.env.ONTIME_TEST_BATCH_DELAY_MS ?? 0) || 0;

setProcessHooks({
  ...(goFile && {
    async beforeLock(out) {
      out.notice(`test hook: waiting for ${goFile}`);
      while (!existsSync(goFile)) await sleep(10);
    },
  }),
  ...(delayMs > 0 && {
    async beforeCheckpoint(out) {
      out.notice(`test hook: waiting ${delayMs}ms before the next batch`);
      await sleep(delayMs);
    },
  }),
});
