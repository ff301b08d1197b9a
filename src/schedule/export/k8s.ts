/**
 * registry → one Kubernetes CronJob (batch/v1) per job.
 *
 * Retries and exit codes: restartPolicy Never with a podFailurePolicy (which requires Never),
 * because with OnFailure the kubelet restarts the container for every non-zero exit, so a
 * configuration error (78) or a usage error (64) would restart in a loop until backoffLimit.
 * Here:
 * - exit 1 (some items failed), 64, 70 and 78 fail the Job at once: a retry would fail the same
 *   way, and the next schedule slot will try again anyway;
 * - other failures (75 database unreachable or time limit, 69 SMTP unreachable, a killed pod)
 *   are retried up to backoffLimit times; ontime's jobs are idempotent and take a lock, so a
 *   retry is safe;
 * - a pod evicted by a node drain or preemption (DisruptionTarget) does not count as a failure.
 * concurrencyPolicy Forbid keeps one run at a time per job (ontime's lock also guarantees it).
 *
 * `--shards n` (n ≥ 2): each shardable job's Job is Indexed (completionMode Indexed, completions
 * and parallelism n). Kubernetes gives each pod JOB_COMPLETION_INDEX; the manifest sets
 * ONTIME_SHARDS=n, and ontime runs shard JOB_COMPLETION_INDEX/n under its own lock (runner/shard.ts).
 * backoffLimit is per Job, so it is 2 retries per shard (2n).
 *
 * The pod meets the Pod Security "restricted" profile: non-root, no privilege escalation, no
 * capabilities, RuntimeDefault seccomp, a read-only root filesystem (ontime writes only to /tmp,
 * an emptyDir: Node's compile cache), no service account token (ontime never calls the API).
 * The container command runs ontime itself as PID 1, so the kubelet's SIGTERM reaches it: it
 * finishes its batch, records the run interrupted and exits 143 within the grace period.
 */
import { startArgs } from '../../registry.js';
import { defaultCatchUpWindow } from '../due.js';
import { hardLimitSeconds, scheduleSourceLine, splitWords } from './common.js';
import { memoryResources } from './k8s-memory.js';
import { toYaml } from './yaml-text.js';
import type { ExportJob, ExportOptions, ExportResult, ExportedFile } from './types.js';

export const K8S_DEFAULTS = {
  registry: 'your-registry.example/ontime',
  namespace: 'default',
  secret: 'ontime-env',
  /** Non-secret settings when secrets are mounted as files (optional: may not exist). */
  configMap: 'ontime-config',
  secretsMountPath: '/run/secrets/ontime',
  secretsAsFiles: ['DATABASE_URL', 'EMAIL_HOST_PASSWORD'],
};

/** CronJob names: DNS-1123 subdomain, at most 52 characters (the controller appends 11). */
export const MAX_CRONJOB_NAME = 52;

export function cronJobName(job: string, prefix = ''): string {
  const name = `${prefix}ontime-${job}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  return name.length <= MAX_CRONJOB_NAME ? name : name.slice(0, MAX_CRONJOB_NAME).replace(/-+$/, '');
}

/** Exit codes that no retry will fix. */
export const NON_RETRYABLE_EXIT_CODES = [1, 64, 70, 78];

/**
 * Resources and the longest a batch takes, per job. Memory from the measured figures
 * (k8s-memory.ts, docs/performance.md). The longest batch transaction of the batch jobs measured
 * 0.135 s; a mail job's in-flight message may wait for the SMTP socket timeout (60 s after 15 s
 * connect and 15 s greeting), so those get 90 s.
 */
export interface JobProfile {
  memoryRequest: string;
  memoryLimit: string;
  cpuRequest: string;
  longestBatchSeconds: number;
}

const BATCH_SECONDS = 30;
const WAITING_SECONDS = 90;

/**
 * Seconds one step of a job may take after SIGTERM: mail jobs wait for the SMTP socket,
 * governance measured long batches, and backup-database waits for its dump tool.
 */
const LONG_STEPS: Record<string, number> = {
  'send-scheduled-emails': WAITING_SECONDS,
  'weekly-report': WAITING_SECONDS,
  'process-data-governance': WAITING_SECONDS,
  'backup-database': WAITING_SECONDS,
};

const PROFILED_JOBS = [
  'release-scheduled-cases',
  'weekly-pending-payment-update',
  'weekly-paid-update',
  'bulk-update-case-status',
  'cleanup-survey-progress',
  'send-scheduled-emails',
  'process-data-governance',
  'prune-history',
  'weekly-report',
  'backup-database',
];

function profileOf(job: string): JobProfile {
  return { ...memoryResources(job), cpuRequest: '100m', longestBatchSeconds: LONG_STEPS[job] ?? BATCH_SECONDS };
}

export const JOB_PROFILES: Record<string, JobProfile> = Object.fromEntries(PROFILED_JOBS.map((job) => [job, profileOf(job)]));

/** A job not measured yet (an external one) gets the largest figures and the longest wait. */
export function jobProfile(job: string): JobProfile {
  return JOB_PROFILES[job] ?? { ...memoryResources(job), cpuRequest: '100m', longestBatchSeconds: WAITING_SECONDS };
}

/** After SIGTERM, time to finish the longest batch, record the run and close connections. */
export const TERMINATION_MARGIN_SECONDS = 30;

export function exportK8s(jobs: readonly ExportJob[], options: ExportOptions, now = new Date(Date.UTC(2025, 0, 1))): ExportResult {
  const image = options.image ?? `${K8S_DEFAULTS.registry}:${options.version ?? 'latest'}`;
  const namespace = options.namespace ?? K8S_DEFAULTS.namespace;
  const secret = options.secret ?? K8S_DEFAULTS.secret;
  const prefix = options.namePrefix ?? '';
  const command = splitWords(options.command);
  const secretFiles = options.secretsAsFiles;
  const files: ExportedFile[] = [];
  for (const job of jobs) {
    if (!job.schedule) continue;
    const name = cronJobName(job.name, prefix);
    const profile = jobProfile(job.name);
    const labels = {
      'app.kubernetes.io/name': 'ontime',
      'app.kubernetes.io/instance': `${prefix}ontime`.replace(/-+$/, ''),
      'app.kubernetes.io/component': job.name,
    };
    // A run that could not start on time may still start this late: ontime's own catch-up window.
    const startingDeadlineSeconds = Math.round(defaultCatchUpWindow(job.schedule, now, options.timeZone) / 1000);
    const volumes: Record<string, unknown>[] = [{ name: 'tmp', emptyDir: {} }];
    const volumeMounts: Record<string, unknown>[] = [{ name: 'tmp', mountPath: '/tmp' }];
    const env = [{ name: 'ONTIME_TIMEZONE', value: options.timeZone }];
    const shards = options.shards !== undefined && options.shards > 1 && job.shardable ? options.shards : undefined;
    if (shards) env.push({ name: 'ONTIME_SHARDS', value: String(shards) });
    let envFrom;
    if (secretFiles) {
      // Secret keys as files; the other settings from an optional ConfigMap, never both forms.
      volumes.push({ name: 'secrets', secret: { secretName: secret, items: secretFiles.map((key) => ({ key, path: key })) } });
      volumeMounts.push({ name: 'secrets', mountPath: K8S_DEFAULTS.secretsMountPath, readOnly: true });
      env.push(...secretFiles.map((key) => ({ name: `${key}_FILE`, value: `${K8S_DEFAULTS.secretsMountPath}/${key}` })));
      envFrom = [{ configMapRef: { name: `${prefix}${K8S_DEFAULTS.configMap}`, optional: true } }];
    } else {
      envFrom = [{ secretRef: { name: secret } }];
    }
    const manifest = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name, namespace, labels },
      spec: {
        schedule: job.schedule,
        timeZone: options.timeZone,
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 5,
        jobTemplate: {
          metadata: { labels },
          spec: {
            ...(shards ? { completionMode: 'Indexed', completions: shards, parallelism: shards } : {}),
            backoffLimit: 2 * (shards ?? 1),
            activeDeadlineSeconds: hardLimitSeconds(job.timeoutSeconds),
            podFailurePolicy: {
              rules: [
                { action: 'FailJob', onExitCodes: { containerName: job.name, operator: 'In', values: NON_RETRYABLE_EXIT_CODES } },
                { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] },
              ],
            },
            template: {
              metadata: { labels },
              spec: {
                restartPolicy: 'Never',
                automountServiceAccountToken: false,
                terminationGracePeriodSeconds: profile.longestBatchSeconds + TERMINATION_MARGIN_SECONDS,
                securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
                containers: [
                  {
                    name: job.name,
                    image,
                    imagePullPolicy: 'IfNotPresent',
                    command,
                    args: startArgs(job),
                    workingDir: options.cwd,
                    envFrom,
                    env,
                    resources: {
                      requests: { cpu: profile.cpuRequest, memory: profile.memoryRequest },
                      limits: { memory: profile.memoryLimit },
                    },
                    securityContext: {
                      allowPrivilegeEscalation: false,
                      readOnlyRootFilesystem: true,
                      runAsNonRoot: true,
                      capabilities: { drop: ['ALL'] },
                    },
                    volumeMounts,
                  },
                ],
                volumes,
              },
            },
          },
        },
      },
    };
    const header = [
      `# ${job.name}: ${job.description}`,
      `# ${scheduleSourceLine(options)}`,
      ...(shards ? [`# Sharded: an Indexed Job of ${shards} pods; pod i runs shard i/${shards} (JOB_COMPLETION_INDEX, ONTIME_SHARDS), each under its own lock.`] : []),
      `# Generated by \`ontime export k8s\`. Run now: kubectl -n ${namespace} create job --from=cronjob/${name} ${name.slice(0, 40)}-manual-$(date +%s)`,
      `# Memory from the peak RSS measured in docs/performance.md (a light run / a full run); the image must run as a numeric non-root USER.`,
    ].join('\n');
    files.push({ name: `${name}.yaml`, content: `${header}\n${toYaml(manifest as never)}` });
  }
  const ignored = (['envFile', 'logDir', 'randomizedDelaySec'] as const).filter((k) => options[k] !== undefined);
  return { files, ignoredOptions: ignored };
}
