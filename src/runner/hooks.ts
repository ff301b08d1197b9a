/**
 * Test seams, passed in with the invocation (`Invocation.hooks`); every one is a no-op in
 * production. In-process tests hand their own hooks to `main()`; tests that start real processes
 * install them with a `--import` preload (test/helpers/preload-hooks.mjs) through
 * `setProcessHooks`, which only the process's default invocation reads. Nothing here reads the
 * environment.
 */
import type { Output } from '../output.js';

export interface RunHooks {
  /** A real run, before it asks for its lock: lets a test start many processes at one instant. */
  beforeLock(out: Output): Promise<void>;
  /** A real run, before every checkpoint (between batches): lets a test pause, signal or kill it. */
  beforeCheckpoint(out: Output): Promise<void>;
  /** A page of rows was selected (ids), nothing changed yet; `label` is the paging's label. */
  afterSelect(label: string, ids: number[]): Promise<void>;
  /** Hard deletion: one transaction of a batch's child rows in `table` was committed. */
  afterChildTransaction(table: string, surveyIds: number[]): Promise<void>;
  /** Hard deletion: a batch's children are gone, its surveys' last transaction is next. */
  beforeSurveyRowDelete(surveyId: number): Promise<void>;
}

const nothing = async () => undefined;

export const noHooks: RunHooks = {
  beforeLock: nothing,
  beforeCheckpoint: nothing,
  afterSelect: nothing,
  afterChildTransaction: nothing,
  beforeSurveyRowDelete: nothing,
};

/** The given hooks over the no-ops, so a test names only the ones it needs. */
export function withHooks(partial: Partial<RunHooks> = {}): RunHooks {
  return { ...noHooks, ...partial };
}

/**
 * One slot for the whole process, not one per copy of this module: bin/ontime runs the bundle
 * (dist/bundle/), while a preload imports dist/runner/hooks.js, a second copy of this module.
 */
const PROCESS_HOOKS = Symbol.for('ontime.processHooks');
type HookSlot = { [PROCESS_HOOKS]?: Partial<RunHooks> };

/** For a `--import` preload of a test: the hooks of this process's default invocation. */
export function setProcessHooks(hooks: Partial<RunHooks>): void {
  (globalThis as HookSlot)[PROCESS_HOOKS] = hooks;
}

export function getProcessHooks(): RunHooks {
  return withHooks((globalThis as HookSlot)[PROCESS_HOOKS]);
}
