/**
 * The Dockerfile and compose.yaml, checked without a Docker daemon: the compose file parses and
 * every service can get an image, the Dockerfile's COPY sources exist (and are not excluded by
 * .dockerignore), the image runs ontime itself as a non-root user, and every ontime command the
 * two files use is a real command of this checkout.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { binPath, repoRoot } from '../helpers/cli.js';

const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
const compose = parse(readFileSync(join(repoRoot, 'compose.yaml'), 'utf8'), { merge: true });
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => {
    const [word, ...rest] = l.split(/\s+/);
    return { op: word!.toUpperCase(), args: rest.join(' ') };
  });
const lastStage = instructions.slice(instructions.map((i) => i.op).lastIndexOf('FROM'));
const only = (op: string) => lastStage.filter((i) => i.op === op);

/** `ontime <command> --help` from the checkout: exit 0 and that command's own usage line. */
function assertRealCommand(command: string) {
  const r = spawnSync(process.execPath, [binPath, command, '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${command}: ${r.stderr}`);
  assert.match(r.stdout, new RegExp(`^Usage: ontime ${command}\\b`), `ontime ${command} is not a command`);
}

describe('Dockerfile', () => {
  test('multi-stage from a Node slim image; production dependencies by npm ci --omit=dev', () => {
    const froms = instructions.filter((i) => i.op === 'FROM');
    assert.ok(froms.length >= 2, 'multi-stage');
    assert.match(dockerfile, /^ARG NODE_IMAGE=node:\d+-slim$/m);
    assert.match(dockerfile, /npm ci --omit=dev/);
  });

  test('every COPY source from the build context exists and is not excluded by .dockerignore', () => {
    const ignored = readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n').filter(Boolean);
    const copies = instructions.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'));
    assert.ok(copies.length > 0);
    for (const copy of copies) {
      const words = copy.args.split(/\s+/);
      for (const source of words.slice(0, -1)) {
        assert.ok(existsSync(join(repoRoot, source)), `COPY ${source}: no such file in the repository`);
        assert.ok(!ignored.includes(source), `COPY ${source} is excluded by .dockerignore`);
      }
    }
  });

  test('ontime is the entrypoint in exec form, runs as a numeric non-root user, and the health check is ontime check', () => {
    assert.deepEqual(JSON.parse(only('ENTRYPOINT').at(-1)!.args), ['ontime']);
    const user = only('USER').at(-1)!.args;
    assert.match(user, /^[1-9]\d*(:\d+)?$/, 'numeric, not root');
    const health = only('HEALTHCHECK').at(-1)!.args;
    const command = JSON.parse(health.slice(health.indexOf('CMD') + 3).trim());
    assert.deepEqual(command.slice(0, 2), ['ontime', 'check']);
    assertRealCommand(command[1]);
    assert.deepEqual(JSON.parse(only('CMD').at(-1)!.args), ['--help']);
  });
});

describe('compose.yaml', () => {
  test('parses; every service names an image or a build', () => {
    const services = Object.entries(compose.services as Record<string, any>);
    assert.ok(services.length >= 3);
    for (const [name, service] of services) assert.ok(service.image || service.build, `service ${name} has neither image nor build`);
  });

  test('the database, a one-shot migrate, and the scheduler after it running `ontime work`', () => {
    const { db, migrate, scheduler } = compose.services;
    assert.ok(db.image.startsWith('postgres:'));
    assert.deepEqual(migrate.command, ['migrate']);
    assert.equal(migrate.restart, 'no');
    assert.equal(migrate.depends_on.db.condition, 'service_healthy');
    assert.deepEqual(scheduler.command, ['work']);
    assert.equal(scheduler.depends_on.migrate.condition, 'service_completed_successfully');
    for (const service of [migrate, scheduler]) {
      assert.match(service.environment.DATABASE_URL, /@db:5432\//);
      assertRealCommand(service.command[0]);
    }
  });
});
