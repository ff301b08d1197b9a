/** ONTIME_PING_URL: credentials in it are refused at start-up (78); warnings name the host only. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { ConfigError, ExitCode } from '../../src/errors.js';
import type { Output } from '../../src/output.js';
import { sendPing } from '../../src/runner/ping.js';
import { runCli } from '../helpers/cli.js';

const WITH_CREDENTIALS = 'https://monitor:pw-9f3k@hc.example.test/ping/uuid-0b7d-secret/{job}';

test('user:password in ONTIME_PING_URL is a configuration error that does not echo the URL', () => {
  assert.throws(
    () => loadConfig({ ONTIME_PING_URL: WITH_CREDENTIALS }, '/nonexistent'),
    (err: ConfigError) => err instanceof ConfigError && /hc\.example\.test/.test(err.message) && !/pw-9f3k|uuid-0b7d/.test(err.message + err.hint),
  );
});

test('a job started with such a URL stops with 78 before doing anything', async () => {
  const r = await runCli(['release-scheduled-cases', '--dry-run'], { ONTIME_PING_URL: WITH_CREDENTIALS });
  assert.equal(r.code, ExitCode.config);
  assert.doesNotMatch(r.stdout + r.stderr, /pw-9f3k|uuid-0b7d/);
});

test('a failed ping warns with the host only, whatever fetch said', async () => {
  const warnings: string[] = [];
  const out = { warn: (text: string) => warnings.push(text) } as unknown as Output;
  await sendPing('http://monitor:pw-9f3k@127.0.0.1:9/ping/uuid-0b7d-secret', 'job', 'start', out);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /127\.0\.0\.1/);
  assert.doesNotMatch(warnings[0]!, /pw-9f3k|uuid-0b7d/);
});
