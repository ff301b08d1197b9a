/** `ontime status` for a terminal: the status model as lines of text. */
import { formatDuration, formatUtc } from '../output.js';
import { STATUS_SYMBOL, statusSymbol, STRIP_LENGTH, type RunView, type StatusModel } from './model.js';

const utc = (iso: string | null) => (iso ? formatUtc(new Date(iso)) : '-');

export function runOutcome(r: RunView): string {
  return `${r.status}${r.exitCode === null ? '' : ` (exit ${r.exitCode})`}`;
}

/** Backlog rows grouped by kind: `survey-deletion-warning: 2 pending, 1 failed`. */
export function outboxByKind(outbox: StatusModel['outbox']): Array<{ kind: string; counts: string }> {
  const kinds = new Map<string, string[]>();
  for (const row of outbox) kinds.set(row.kind, [...(kinds.get(row.kind) ?? []), `${row.count} ${row.status}`]);
  return [...kinds].map(([kind, counts]) => ({ kind, counts: counts.join(', ') }));
}

export function legendText(): string {
  return Object.entries(STATUS_SYMBOL)
    .map(([status, symbol]) => `${symbol} ${status}`)
    .join('  ');
}

export function renderStatusText(m: StatusModel): string[] {
  const lines: string[] = [];
  lines.push(`ontime status at ${utc(m.generatedAt)} on ${m.host} (${m.database}; schedules read in ${m.timezone})`);
  lines.push(`Check: ${m.check.summary}`);
  lines.push('');
  const header = ['JOB', 'SCHEDULE', 'ENABLED', 'NEXT RUN', 'LATEST RUN', 'RESULT', 'DURATION', 'ITEMS', 'CHECK'];
  const table = m.jobs.map((j) => {
    const r = j.latestRun;
    return [
      j.name,
      j.schedule ? `${j.schedule} (${j.timezone})` : '(by hand)',
      j.enabled ? 'yes' : 'no',
      j.nextRunLocal ?? '-',
      r ? utc(r.startedAt) : 'never',
      r ? runOutcome(r) : '-',
      r?.durationMs != null ? formatDuration(r.durationMs) : '-',
      r?.items != null ? String(r.items) : '-',
      j.check.status,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const render = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  lines.push(render(header), ...table.map(render));

  lines.push('');
  lines.push(`Last ${STRIP_LENGTH} runs, oldest first (${legendText()}):`);
  const nameWidth = Math.max(...m.jobs.map((j) => j.name.length));
  for (const j of m.jobs) {
    const strip = j.recentRuns.map((r) => statusSymbol(r.status)).join('');
    lines.push(`  ${j.name.padEnd(nameWidth)}  ${strip || '(no runs yet)'}`);
  }

  lines.push('');
  if (m.problemRuns.length === 0) {
    lines.push('Failed or interrupted runs: none among the recent runs.');
  } else {
    lines.push('Failed or interrupted runs (newest first):');
    for (const r of m.problemRuns) {
      lines.push(`  #${r.id} ${r.job} ${runOutcome(r)} at ${utc(r.startedAt)}${r.error ? `: ${r.error}` : ''}`);
    }
  }

  lines.push('');
  const { advisory, leases } = m.locks;
  if (advisory.length === 0 && leases.length === 0) {
    lines.push('Locks: none held.');
  } else {
    lines.push('Locks held:');
    for (const a of advisory) {
      lines.push(`  ${a.job}: advisory lock of ${a.label ?? `session ${a.session}`}${a.runId !== null ? `, run #${a.runId}` : ''}${a.since ? `, since ${utc(a.since)}` : ''}`);
    }
    for (const l of leases) {
      lines.push(`  ${l.job ?? l.name}: lease of ${l.holder}, since ${utc(l.since)}, expires ${utc(l.expiresAt)}${l.expired ? ' (EXPIRED)' : ''}`);
    }
  }

  lines.push('');
  const backlog = outboxByKind(m.outbox);
  if (backlog.length === 0) {
    lines.push('Outbox: nothing waiting, nothing failed.');
  } else {
    lines.push('Outbox backlog:');
    for (const b of backlog) lines.push(`  ${b.kind}: ${b.counts}`);
  }
  lines.push('');
  lines.push('Check, job by job:');
  for (const j of m.jobs) lines.push(`  ${j.check.status.padEnd(8)} ${j.name}: ${j.check.reason}`);
  return lines;
}
