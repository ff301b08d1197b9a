/**
 * Stopping a run cleanly. The first SIGTERM/SIGINT asks the run to stop at its next checkpoint
 * (after the current batch commits); a second one stops the process at once, the default way.
 * Handlers exist only while a real run is under way, so nothing keeps the process alive after it.
 */
import { ExitCode, OntimeError } from '../errors.js';
import type { Output } from '../output.js';

export type StopReason = 'SIGTERM' | 'SIGINT' | 'timeout' | 'lock-lost';

/** A run stopped between batches: status `interrupted`, finished batches committed. */
export class RunInterrupted extends OntimeError {
  constructor(
    readonly reason: StopReason,
    message: string,
    hint?: string,
    /** Added to the run's summary (e.g. how a stopped command ended). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message, reason === 'SIGTERM' ? ExitCode.sigterm : reason === 'SIGINT' ? ExitCode.sigint : ExitCode.tempfail, hint);
  }
}

/**
 * Calls `handler` on SIGTERM and SIGINT until the returned function is called. The one place a
 * command listens for stop signals: a run (StopSignals), and the dispatcher (run-due, work),
 * which passes them on to the job it started.
 */
export function onStopSignals(handler: (signal: NodeJS.Signals) => void): () => void {
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}

/** The exit code of a process stopped by a signal it handled: 130 (SIGINT), 143 (SIGTERM). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm;
}

export type StopListener = (signal: 'SIGTERM' | 'SIGINT', again: boolean) => void;

export class StopSignals {
  /** The signal that asked us to stop, if any. */
  requested: 'SIGTERM' | 'SIGINT' | null = null;
  private uninstall?: () => void;
  private readonly listeners = new Set<StopListener>();

  constructor(private readonly out: Output) {}

  install(): void {
    this.uninstall ??= onStopSignals((signal) => this.onSignal(signal));
  }

  remove(): void {
    this.uninstall?.();
    this.uninstall = undefined;
  }

  /**
   * Be told of each stop request as it arrives (a handler running a child process forwards it);
   * `again` is the second signal, after which the process stops at once. Returns the unsubscribe.
   */
  onRequest(listener: StopListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private onSignal(signal: NodeJS.Signals): void {
    const name = signal === 'SIGINT' ? 'SIGINT' : 'SIGTERM';
    for (const listener of this.listeners) listener(name, this.requested !== null);
    if (this.requested) {
      // Second signal: stop now. Without our handlers the signal's default action ends the
      // process (exit status 128 + n); an advisory lock goes with the connection, a lease expires.
      this.out.notice(`${signal} again: stopping at once, in the middle of the batch (its transaction is rolled back)`);
      this.remove();
      process.kill(process.pid, signal);
      return;
    }
    this.requested = signal === 'SIGINT' ? 'SIGINT' : 'SIGTERM';
    this.out.notice(`received ${signal}: finishing the current batch, then stopping (send it again to stop at once)`);
  }

  /** Throw at a checkpoint when a stop was asked for. */
  check(): void {
    if (this.requested) {
      throw new RunInterrupted(
        this.requested,
        `stopped by ${this.requested} after finishing the current batch; finished batches are committed, the rest is left for the next run`,
      );
    }
  }
}
