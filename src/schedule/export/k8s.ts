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
 * Resources and the longest a batch takes, per job, from docs/performance.md (scale 1: 1M rows).
 * Peak RSS: release, weekly and cleanup 114–142 MB, mail ~125 MB, governance 208–252 MB (grows
 * with the data). Limits leave headroom above the peak; requests sit near it. The longest batch
 * transaction of the batch jobs measured 0.135 s; a mail job's in-flight message may wait for the
 * SMTP socket timeout (60 s after 15 s connect and 15 s greeting), so those get 90 s.
 */
export interface JobProfile {
  memoryRequest: string;
  memoryLimit: string;
  cpuRequest: string;
  longestBatchSeconds: number;
}

const BATCH_JOB: JobProfile = { memoryRequest: '160Mi', memoryLimit: '256Mi', cpuRequest: '100m', longestBatchSeconds: 30 };
const MAIL_JOB: JobProfile = { ...BATCH_JOB, longestBatchSeconds: 90 };

export const JOB_PROFILES: Record<string, JobProfile> = {
  'release-scheduled-cases': BATCH_JOB,
  'weekly-pending-payment-update': BATCH_JOB,
  'weekly-paid-update': BATCH_JOB,
  'bulk-update-case-status': BATCH_JOB,
  'cleanup-survey-progress': BATCH_JOB,
  'send-scheduled-emails': MAIL_JOB,
  'process-data-governance': { memoryRequest: '320Mi', memoryLimit: '512Mi', cpuRequest: '100m', longestBatchSeconds: 90 },
  // Not measured yet; shaped like the jobs they resemble: prune-history pages like a batch job,
  // weekly-report mails, and backup-database waits for its dump tool, whose in-flight work a
  // SIGTERM lets finish up to the same 90 s a mail job gets.
  'prune-history': BATCH_JOB,
  'weekly-report': MAIL_JOB,
  'backup-database': { ...BATCH_JOB, longestBatchSeconds: 90 },
};

/** A job not measured yet gets the largest profile. */
export function jobProfile(job: string): JobProfile {
  return JOB_PROFILES[job] ?? JOB_PROFILES['process-data-governance']!;
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
      `# Resources from docs/performance.md (peak memory measured at 1M rows); the image must run as a numeric non-root USER.`,
    ].join('\n');
    files.push({ name: `${name}.yaml`, content: `${header}\n${toYaml(manifest as never)}` });
  }
  const ignored = (['envFile', 'logDir', 'randomizedDelaySec'] as const).filter((k) => options[k] !== undefined);
  return { files, ignoredOptions: ignored };
}
