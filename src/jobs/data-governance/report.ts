/**
 * What a data governance run tallies, and its report: the human lines, the summary recorded in
 * job_runs and printed by --json, and the exit code. Pure (no database, no clock, no output), so
 * it is tested on its own (test/unit/data-governance-report.test.ts).
 */
import type { ChildCounts, WarningDays } from '../../db/surveys/index.js';
import { ExitCode } from '../../errors.js';
import { CappedLines, newMailTally, PROBLEM_LINES_CAP, type MailStop, type MailTally } from '../../mail/outcomes.js';
import { formatUtc } from '../../output.js';

/** The warnings' outcomes (MailTally: sent is the total), by threshold, and invalid addresses. */
export interface WarningTally extends MailTally {
  byDays: Record<WarningDays, number>;
  invalidEmail: number;
  /** Due before the profile's cut-over: recorded without a mail (jobs/data-governance/cutover.ts). */
  sentByApplication: number;
}

export interface DeletionTally {
  count: number;
  /** Left alone: changed by someone else between selection and change. */
  changed: number;
}

export interface GovernanceTally {
  warnings: WarningTally;
  /** Set when mail could not be set up or reached: every further warning is not sent. */
  mailBlocked?: MailStop;
  soft: DeletionTally;
  hard: DeletionTally & { rows: ChildCounts };
  /** Surveys an active legal hold stopped. Each step selects different surveys, so a sum is distinct. */
  skippedByHold: number;
  /** --limit stopped a step with surveys possibly left. */
  limited: boolean;
}

export const noChildCounts = (): ChildCounts => ({ responses: 0, progress: 0, warnings: 0, removedHolds: 0 });

export function newTally(): GovernanceTally {
  return {
    warnings: { ...newMailTally(), byDays: { 30: 0, 7: 0, 1: 0 }, invalidEmail: 0, sentByApplication: 0 },
    soft: { count: 0, changed: 0 },
    hard: { count: 0, changed: 0, rows: noChildCounts() },
    skippedByHold: 0,
    limited: false,
  };
}

export function addCounts(into: ChildCounts, c: ChildCounts): void {
  into.responses += c.responses;
  into.progress += c.progress;
  into.warnings += c.warnings;
  into.removedHolds += c.removedHolds;
}

export function describeCounts(c: ChildCounts): string {
  return `${c.responses} responses, ${c.progress} progress, ${c.warnings} warnings, ${c.removedHolds} removed holds`;
}

export interface ReportInput {
  dryRun: boolean;
  /** Kept per-survey lines of each section (problems shown without --verbose), already capped. */
  warningLines: readonly string[];
  deletionLines: readonly string[];
  /** The run stopped early (time limit, signal, error): the counts are what was committed. */
  stopped: boolean;
}

/** The report's lines, warnings first as in docs/reference/jobs.md's example (the deletions ran first). */
export function reportLines(t: GovernanceTally, r: ReportInput): string[] {
  const would = (real: string, dry: string) => (r.dryRun ? dry : real);
  const w = t.warnings;
  const lines = ['', '--- Deletion Warnings ---', ...r.warningLines];
  lines.push(`${would('Sent', 'Would send')} ${w.sent} deletion warnings:`);
  lines.push(`  - 30-day warnings: ${w.byDays[30]}`, `  - 7-day warnings: ${w.byDays[7]}`, `  - 1-day warnings: ${w.byDays[1]}`);
  if (w.invalidEmail > 0) lines.push(`Not sent (owner email missing or invalid): ${w.invalidEmail} surveys`);
  if (w.sentByApplication > 0) lines.push(`${would('Recorded', 'Would record')} as sent by the application before the cut-over: ${w.sentByApplication} warnings`);
  if (w.failed > 0) lines.push(`Failed (rejected by the mail server): ${w.failed} warnings`);
  if (w.failedEarlier > 0) lines.push(`Refused in an earlier run, not retried: ${w.failedEarlier} warnings (see email_outbox.last_error)`);
  if (w.deferred > 0) lines.push(`Deferred (temporary mail failure, retried next run): ${w.deferred} warnings`);
  if (t.mailBlocked) lines.push(`Not sent (${t.mailBlocked.reason}): ${w.notSent} warnings; nothing was recorded as sent for them`);

  lines.push('', '--- Automatic Deletions ---', ...r.deletionLines);
  lines.push(`${would('Soft deleted', 'Would soft delete')}: ${t.soft.count} surveys`);
  lines.push(`${would('Hard deleted', 'Would hard delete')}: ${t.hard.count} surveys`);
  lines.push(`Skipped (legal hold): ${t.skippedByHold} surveys`);
  const changed = t.soft.changed + t.hard.changed;
  if (changed > 0) lines.push(`Left alone (changed by someone else since selected): ${changed} surveys`);
  if (t.limited) lines.push('Stopped at --limit; more surveys may be due, the next run continues.');
  if (r.stopped) lines.push('Stopped early: the counts above are what was done; the next run continues with the rest.');
  return lines;
}

/** The last lines of a run that finished. */
export function closingLines(dryRun: boolean, completedAt: Date): string[] {
  return ['', ...(dryRun ? ['Dry run: nothing was changed and no mail was sent.'] : []), `Data governance processing completed at ${formatUtc(completedAt)}`];
}

/** job_runs.summary and the --json summary; also what an interrupted run records. */
export function governanceSummary(t: GovernanceTally): Record<string, unknown> {
  const w = t.warnings;
  return {
    warningsSent: w.sent,
    warnings30: w.byDays[30],
    warnings7: w.byDays[7],
    warnings1: w.byDays[1],
    warningsAlreadySent: w.alreadySent,
    warningsInvalidEmail: w.invalidEmail,
    warningsSentByApplication: w.sentByApplication,
    warningsFailed: w.failed,
    warningsFailedEarlier: w.failedEarlier,
    warningsDeferred: w.deferred,
    warningsNotSent: w.notSent,
    mailProblem: t.mailBlocked?.reason ?? null,
    softDeleted: t.soft.count,
    hardDeleted: t.hard.count,
    skippedLegalHold: t.skippedByHold,
    changedSinceSelected: t.soft.changed + t.hard.changed,
    hardDeletedRows: { ...t.hard.rows },
    limited: t.limited,
  };
}

/** Warnings that failed or were deferred make the run partial. */
export function failedWarnings(t: GovernanceTally): number {
  return t.warnings.failed + t.warnings.deferred;
}

/** A mail problem that stopped all warnings decides the code (69, 78); else failures → 1. */
export function governanceExitCode(t: GovernanceTally): number {
  return t.mailBlocked?.exitCode ?? (failedWarnings(t) > 0 ? ExitCode.partial : ExitCode.ok);
}

/**
 * Per-survey lines of one report section. `--verbose` lines are printed as they happen (so
 * nothing per survey is kept for the whole run); lines that show without --verbose (a warning
 * the mail server refused) belong in their section, so they are kept, capped.
 */
export class SectionLines {
  private readonly problems = new CappedLines({ cap: PROBLEM_LINES_CAP });
  constructor(private readonly detailLine: (text: string) => void) {}
  /** A line for --verbose only. */
  detail(text: string): void {
    this.detailLine(text);
  }
  /** A line the report shows in its section (and --verbose as it happens). */
  line(text: string): void {
    this.problems.add(text);
    this.detailLine(text);
  }
  lines(): string[] {
    return this.problems.lines();
  }
}
