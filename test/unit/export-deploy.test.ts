/**
 * `ontime export` as a platform team deploys it: exec-form commands by default, the Kubernetes
 * Pod Security "restricted" profile, names, image tag, secrets as files, resources; Task
 * Scheduler for a global install and for a project directory.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { parseAllDocuments } from 'yaml';
import { jobs } from '../../src/registry.js';
import { JOB_PROFILES, TERMINATION_MARGIN_SECONDS } from '../../src/schedule/export/k8s.js';
import { HEADROOM, MEASURED_MEMORY, measuredMemory } from '../../src/schedule/export/k8s-memory.js';
import { binPath, repoRoot, runCli } from '../helpers/cli.js';

const scheduled = jobs.filter((j) => j.schedule);
const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version as string;

async function k8s(args: string[] = []) {
  const r = await runCli(['export', 'k8s', ...args], {});
  assert.equal(r.code, 0, r.stderr);
  return { ...r, manifests: parseAllDocuments(r.stdout).filter((d) => d.contents !== null).map((d) => d.toJS()) };
}

/**
 * The Pod Security Standards "restricted" profile (kubernetes.io/docs/concepts/security/pod-security-standards),
 * checked field by field on a pod spec: every violation, as a sentence.
 */
function restrictedViolations(pod: any): string[] {
  const problems: string[] = [];
  const containers = [...(pod.containers ?? []), ...(pod.initContainers ?? []), ...(pod.ephemeralContainers ?? [])];
  const podSc = pod.securityContext ?? {};
  for (const key of ['hostNetwork', 'hostPID', 'hostIPC']) if (pod[key]) problems.push(`${key} is set`);
  if (podSc.windowsOptions?.hostProcess) problems.push('hostProcess');
  const allowedVolumes = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];
  for (const v of pod.volumes ?? []) {
    const kinds = Object.keys(v).filter((k) => k !== 'name');
    if (kinds.some((k) => !allowedVolumes.includes(k))) problems.push(`volume ${v.name} is of a restricted type (${kinds})`);
  }
  if (podSc.runAsUser === 0) problems.push('pod runAsUser 0');
  if (podSc.sysctls?.length) problems.push('sysctls set');
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    if (sc.privileged) problems.push(`${c.name}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${c.name}: allowPrivilegeEscalation is not false`);
    if (sc.runAsNonRoot !== true && podSc.runAsNonRoot !== true) problems.push(`${c.name}: runAsNonRoot is not true`);
    if (sc.runAsUser === 0) problems.push(`${c.name}: runAsUser 0`);
    const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
    if (!['RuntimeDefault', 'Localhost'].includes(seccomp)) problems.push(`${c.name}: seccompProfile is ${seccomp}`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${c.name}: capabilities do not drop ALL`);
    const added = (sc.capabilities?.add ?? []).filter((cap: string) => cap !== 'NET_BIND_SERVICE');
    if (added.length) problems.push(`${c.name}: adds capabilities ${added}`);
    if (sc.procMount && sc.procMount !== 'Default') problems.push(`${c.name}: procMount ${sc.procMount}`);
    if ((c.ports ?? []).some((p: any) => p.hostPort)) problems.push(`${c.name}: hostPort`);
  }
  return problems;
}

describe('export k8s: a pod a platform team can run', () => {
  test('every pod meets Pod Security "restricted"; the check itself catches a violation', async () => {
    const { manifests } = await k8s();
    assert.equal(manifests.length, scheduled.length);
    for (const m of manifests) assert.deepEqual(restrictedViolations(m.spec.jobTemplate.spec.template.spec), [], m.metadata.name);
    const bad = structuredClone(manifests[0].spec.jobTemplate.spec.template.spec);
    bad.containers[0].securityContext.allowPrivilegeEscalation = true;
    bad.containers[0].securityContext.capabilities = { add: ['SYS_ADMIN'] };
    bad.containers[0].securityContext.runAsNonRoot = false;
    bad.securityContext = {};
    bad.volumes.push({ name: 'host', hostPath: { path: '/' } });
    assert.equal(restrictedViolations(bad).length, 6, restrictedViolations(bad).join('; '));
  });

  test('read-only root with /tmp writable, no service account token, ontime itself as the command', async () => {
    const { manifests } = await k8s(['--cwd', '/app']);
    for (const [i, m] of manifests.entries()) {
      const pod = m.spec.jobTemplate.spec.template.spec;
      const c = pod.containers[0];
      assert.equal(pod.automountServiceAccountToken, false);
      assert.equal(c.securityContext.readOnlyRootFilesystem, true);
      const tmp = c.volumeMounts.find((v: any) => v.mountPath === '/tmp');
      assert.ok(tmp && pod.volumes.find((v: any) => v.name === tmp.name).emptyDir, 'an emptyDir at /tmp');
      assert.deepEqual([...c.command, ...c.args], ['ontime', scheduled[i]!.name]);
      assert.equal(c.workingDir, '/app');
    }
  });

  test('image tagged with the package version, pulled if not present; --image wins', async () => {
    for (const m of (await k8s()).manifests) {
      const c = m.spec.jobTemplate.spec.template.spec.containers[0];
      assert.equal(c.image, `your-registry.example/ontime:${version}`);
      assert.equal(c.imagePullPolicy, 'IfNotPresent');
    }
    const { manifests } = await k8s(['--image', 'ghcr.io/acme/app:7']);
    assert.equal(manifests[0].spec.jobTemplate.spec.template.spec.containers[0].image, 'ghcr.io/acme/app:7');
  });

  test('grace period covers the longest batch plus a margin; resources per job from the measured figures', async () => {
    for (const m of (await k8s()).manifests) {
      const job = m.metadata.labels['app.kubernetes.io/component'];
      const profile = JOB_PROFILES[job]!;
      assert.ok(profile, `a measured profile for ${job}`);
      const pod = m.spec.jobTemplate.spec.template.spec;
      assert.equal(pod.terminationGracePeriodSeconds, profile.longestBatchSeconds + TERMINATION_MARGIN_SECONDS);
      assert.ok(pod.terminationGracePeriodSeconds > 30, 'longer than Kubernetes\' default only where it must be');
      const { requests, limits } = pod.containers[0].resources;
      assert.deepEqual([requests.memory, limits.memory, requests.cpu], [profile.memoryRequest, profile.memoryLimit, profile.cpuRequest]);
    }
    // Request: a light run's peak; limit: a full run's peak with HEADROOM over it.
    for (const [job, profile] of Object.entries(JOB_PROFILES)) {
      const m = measuredMemory(job);
      const request = parseInt(profile.memoryRequest, 10);
      const limit = parseInt(profile.memoryLimit, 10);
      assert.ok(request >= m.lightMiB && request < m.lightMiB + 8, `${job} request ${profile.memoryRequest} for a light run of ${m.lightMiB} MiB`);
      assert.ok(limit >= m.fullMiB * HEADROOM && limit >= request, `${job} limit ${profile.memoryLimit} for a full run of ${m.fullMiB} MiB`);
    }
  });

  test('the memory figures are the ones docs/performance.md gives', () => {
    const doc = readFileSync(join(repoRoot, 'docs', 'performance.md'), 'utf8');
    const section = doc.slice(doc.indexOf('### Memory figures for export k8s'));
    assert.ok(section.length > 0 && doc.includes('### Memory figures for export k8s'), 'the section is missing');
    const documented = new Map<string, { lightMiB: number; fullMiB: number }>();
    for (const m of section.matchAll(/^\| `?([a-z-]+)`? \| ([\d.]+) \| ([\d.]+) \|/gm)) documented.set(m[1]!, { lightMiB: Number(m[2]), fullMiB: Number(m[3]) });
    assert.deepEqual(Object.fromEntries(documented), MEASURED_MEMORY);
    for (const m of Object.values(MEASURED_MEMORY)) assert.ok(m.lightMiB > 30 && m.fullMiB >= m.lightMiB, 'figures a process can have');
  });

  test('--name-prefix keeps two deployments in one namespace apart', async () => {
    const plain = (await k8s()).manifests.map((m) => m.metadata.name);
    const staging = await k8s(['--name-prefix', 'staging']);
    const names = staging.manifests.map((m) => m.metadata.name);
    assert.deepEqual(names, plain.map((n) => `staging-${n}`));
    assert.equal(names.filter((n) => plain.includes(n)).length, 0);
    assert.equal(staging.manifests[0].metadata.labels['app.kubernetes.io/instance'], 'staging-ontime');
    const bad = await runCli(['export', 'k8s', '--name-prefix', 'Bad_Prefix'], {});
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /--name-prefix/);
  });

  test('--secrets-as-files: the Secret mounted read-only, <NAME>_FILE set, never the same variable from envFrom', async () => {
    const { manifests } = await k8s(['--secrets-as-files', '--secret', 'app-secrets']);
    for (const m of manifests) {
      const pod = m.spec.jobTemplate.spec.template.spec;
      const c = pod.containers[0];
      const volume = pod.volumes.find((v: any) => v.secret);
      assert.equal(volume.secret.secretName, 'app-secrets');
      assert.deepEqual(volume.secret.items.map((i: any) => i.key), ['DATABASE_URL', 'EMAIL_HOST_PASSWORD']);
      const mount = c.volumeMounts.find((v: any) => v.name === volume.name);
      assert.equal(mount.readOnly, true);
      const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
      assert.equal(env.DATABASE_URL_FILE, `${mount.mountPath}/DATABASE_URL`);
      assert.equal(env.EMAIL_HOST_PASSWORD_FILE, `${mount.mountPath}/EMAIL_HOST_PASSWORD`);
      assert.ok(!c.envFrom.some((e: any) => e.secretRef), 'the Secret is not also loaded as variables (both set would be exit 78)');
      assert.deepEqual(restrictedViolations(pod), []);
    }
    const one = await k8s(['--secrets-as-files', 'DATABASE_URL']);
    assert.deepEqual(one.manifests[0].spec.jobTemplate.spec.template.spec.volumes.find((v: any) => v.secret).secret.items, [{ key: 'DATABASE_URL', path: 'DATABASE_URL' }]);
    assert.equal((await runCli(['export', 'k8s', '--secrets-as-files', 'SITE_URL'], {})).code, 64);
  });
});

describe('export: exec form by default', () => {
  test('crontab and systemd start this installation by absolute path; npx in --command draws a warning', async () => {
    const cron = await runCli(['export', 'crontab', '--cwd', '/srv/app', '--defaults'], {});
    assert.match(cron.stdout, new RegExp(`^0 \\* \\* \\* \\* cd /srv/app && exec ${process.execPath} ${binPath} release-scheduled-cases `, 'm'));
    assert.equal(cron.stderr, '');
    const systemd = await runCli(['export', 'systemd'], {});
    assert.match(systemd.stdout, new RegExp(`^ExecStart=${process.execPath} ${binPath} release-scheduled-cases$`, 'm'));
    for (const platform of ['crontab', 'systemd', 'k8s']) {
      const r = await runCli(['export', platform, '--command', 'npx ontime'], {});
      assert.equal(r.code, 0);
      assert.match(r.stderr, /warning: --command starts with npx, which does not pass SIGTERM on to ontime/, platform);
    }
  });
});

describe('export schtasks: a global install and a project directory', () => {
  const parser = new XMLParser({ ignoreAttributes: false, parseTagValue: false });
  const tasks = async (args: string[]) => {
    const { code, stdout, stderr } = await runCli(['export', 'schtasks', ...args], {});
    assert.equal(code, 0, stderr);
    return stdout
      .split(/^(?:<!-- |REM )===== .* =====(?: -->)?$/m)
      .filter((d) => d.trim().startsWith('<?xml'))
      .map((d) => parser.parse(d.trim()).Task.Actions.Exec);
  };

  test('global (npm\'s ontime.cmd shim): the default command, run in --cwd where .env lives', async () => {
    const execs = await tasks(['--cwd', 'C:\\ProgramData\\ontime', '--log-dir', 'C:\\ProgramData\\ontime\\logs']);
    assert.equal(execs.length, scheduled.length);
    for (const [i, exec] of execs.entries()) {
      assert.equal(exec.Command, 'cmd.exe');
      assert.equal(exec.Arguments, `/d /s /c "ontime.cmd ${scheduled[i]!.name} >> "C:\\ProgramData\\ontime\\logs\\${scheduled[i]!.name}.log" 2>&1"`);
      assert.equal(exec.WorkingDirectory, 'C:\\ProgramData\\ontime');
    }
  });

  test('a project directory (npx.cmd finds node_modules\\.bin from the working directory)', async () => {
    const execs = await tasks(['--command', 'npx ontime', '--cwd', 'D:\\apps\\cases', '--log-dir', 'D:\\logs']);
    for (const [i, exec] of execs.entries()) {
      assert.match(exec.Arguments, new RegExp(`^/d /s /c "npx\\.cmd ontime ${scheduled[i]!.name} >> `));
      assert.equal(exec.WorkingDirectory, 'D:\\apps\\cases');
    }
  });
});

describe('export k8s --shards n: Indexed Jobs for the shardable jobs', () => {
  test('completionMode Indexed, completions and parallelism n, ONTIME_SHARDS=n; still Pod Security "restricted"', async () => {
    const { manifests } = await k8s(['--shards', '3']);
    assert.equal(manifests.length, scheduled.length);
    const shardable = new Set(jobs.filter((j) => j.shardable).map((j) => j.name));
    assert.ok(shardable.has('cleanup-survey-progress') && !shardable.has('prune-history'));
    for (const m of manifests) {
      const spec = m.spec.jobTemplate.spec;
      const container = spec.template.spec.containers[0];
      const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
      assert.deepEqual(restrictedViolations(spec.template.spec), [], m.metadata.name);
      if (shardable.has(container.name)) {
        assert.equal(spec.completionMode, 'Indexed', m.metadata.name);
        assert.equal(spec.completions, 3);
        assert.equal(spec.parallelism, 3);
        assert.equal(spec.backoffLimit, 6, 'two retries per shard');
        assert.equal(env.ONTIME_SHARDS, '3');
        assert.equal(spec.template.spec.restartPolicy, 'Never', 'podFailurePolicy needs Never, Indexed or not');
      } else {
        assert.equal(spec.completionMode, undefined, `${m.metadata.name} is not sharded`);
        assert.equal(env.ONTIME_SHARDS, undefined);
      }
    }
    const plain = await k8s();
    for (const m of plain.manifests) assert.equal(m.spec.jobTemplate.spec.completionMode, undefined);
  });

  test('--shards must be a whole number from 1 to 1000 (64); elsewhere than k8s it has no effect, and says so', async () => {
    for (const bad of ['0', 'x', '1001']) {
      const r = await runCli(['export', 'k8s', '--shards', bad], {});
      assert.equal(r.code, 64, `${bad}: ${r.stderr}`);
      assert.match(r.stderr, /--shards/);
    }
    const cron = await runCli(['export', 'crontab', '--shards', '3', '--defaults'], {});
    assert.equal(cron.code, 0, cron.stderr);
    assert.match(cron.stderr, /--shards has no effect on crontab/);
  });
});
