/** Export options cannot break out of their fields: control characters, names, % and cmd.exe characters. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { ExitCode } from '../../src/errors.js';
import { runCli } from '../helpers/cli.js';

const exportWith = (platform: string, ...options: string[]) => runCli(['export', platform, ...options], {});

describe('export option validation', () => {
  const options = ['--cwd', '--log-dir', '--env-file', '--command', '--image', '--namespace', '--secret'];
  for (const platform of ['crontab', 'systemd', 'k8s', 'schtasks']) {
    for (const option of options) {
      test(`${platform} ${option} with a line break is 64, nothing printed`, async () => {
        const r = await exportWith(platform, option, 'x\nExecStartPre=/bin/evil');
        assert.equal(r.code, ExitCode.usage, r.stderr);
        assert.equal(r.stdout, '');
        assert.match(r.stderr, new RegExp(`${option} contains a control character`));
      });
    }
  }

  test('--namespace must be a DNS-1123 label, so it cannot add a document to the manifests', async () => {
    for (const bad of ['Prod', 'a_b', '-x', 'x'.repeat(64), 'ns\n---\nkind: Pod']) {
      const r = await exportWith('k8s', '--namespace', bad);
      assert.equal(r.code, ExitCode.usage, bad);
    }
    const ok = await exportWith('k8s', '--namespace', 'case-jobs');
    assert.equal(ok.code, 0, ok.stderr);
    for (const doc of parseAllDocuments(ok.stdout)) {
      const value = doc.toJS() as { metadata?: { namespace?: string } } | null;
      if (value?.metadata) assert.equal(value.metadata.namespace, 'case-jobs');
    }
  });

  test('crontab escapes % in the directory and log paths too', async () => {
    const r = await exportWith('crontab', '--cwd', '/srv/100%app', '--log-dir', '/var/log/50%');
    assert.equal(r.code, 0, r.stderr);
    const jobLines = r.stdout.split('\n').filter((l) => /^[0-9*]/.test(l));
    assert.ok(jobLines.length > 0);
    for (const line of jobLines) assert.doesNotMatch(line, /(^|[^\\])%/, line);
  });

  test('systemd escapes % in WorkingDirectory and EnvironmentFile', async () => {
    const r = await exportWith('systemd', '--cwd', '/srv/100%app', '--env-file', '/etc/%h.env');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /WorkingDirectory=\/srv\/100%%app/);
    assert.match(r.stdout, /EnvironmentFile=\/etc\/%%h\.env/);
  });

  for (const bad of ['C:\\a"b', 'C:\\100%', 'C:\\a&b']) {
    test(`schtasks refuses ${JSON.stringify(bad)} in --log-dir and --cwd with a clear message`, async () => {
      for (const option of ['--log-dir', '--cwd']) {
        const r = await exportWith('schtasks', option, bad);
        assert.equal(r.code, ExitCode.usage);
        assert.match(r.stderr, /cmd\.exe/);
      }
    });
  }
});
