/**
 * Which shard a run serves (docs/reference/cli.md, `--shard`): the flag, else ONTIME_SHARD, else
 * a Kubernetes Indexed Job's JOB_COMPLETION_INDEX when ONTIME_SHARDS gives n (set by
 * `ontime export k8s --shards n`; an Indexed Job made for something else is not sharded by
 * accident). `i/1` is the whole table: no shard.
 */
import { ConfigError, UsageError } from '../errors.js';
import { LIMITS, parseShard, shardLabel, type Shard } from '../parse.js';
import type { JobDefinition } from '../registry.js';

export function resolveShard(def: JobDefinition, flag: Shard | undefined, env: Record<string, string | undefined>): Shard | undefined {
  const fromEnv = flag ? undefined : shardFromEnvironment(env);
  const shard = flag ?? fromEnv;
  if (!shard || shard.count === 1) return undefined;
  if (!def.shardable) {
    const why = `${def.name} cannot be sharded (its work is not a table of rows split by id)`;
    if (flag) throw new UsageError(`--shard ${shardLabel(shard)}: ${why}`, 'run it without --shard');
    throw new ConfigError(`${fromEnv?.from} asks for shard ${shardLabel(shard)}: ${why}`, `unset ${fromEnv?.from} for this job`);
  }
  return { index: shard.index, count: shard.count };
}

function shardFromEnvironment(env: Record<string, string | undefined>): (Shard & { from: string }) | undefined {
  const asConfig = <T>(parse: () => T): T => {
    try {
      return parse();
    } catch (err) {
      if (err instanceof UsageError) throw new ConfigError(err.message);
      throw err;
    }
  };
  const named = env.ONTIME_SHARD?.trim();
  if (named) return { ...asConfig(() => parseShard('ONTIME_SHARD')(named)), from: 'ONTIME_SHARD' };
  const count = env.ONTIME_SHARDS?.trim();
  if (!count) return undefined;
  const index = env.JOB_COMPLETION_INDEX?.trim();
  if (!index) {
    throw new ConfigError(
      'ONTIME_SHARDS is set but JOB_COMPLETION_INDEX is not',
      'ONTIME_SHARDS is for the pods of a Kubernetes Indexed Job (ontime export k8s --shards n); elsewhere use --shard i/n or ONTIME_SHARD',
    );
  }
  const shard = asConfig(() => parseShard(`JOB_COMPLETION_INDEX/ONTIME_SHARDS (at most ${LIMITS.shards})`)(`${index}/${count}`));
  return { ...shard, from: 'JOB_COMPLETION_INDEX' };
}
