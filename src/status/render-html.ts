/** `ontime status --html FILE`: the status model as one self-contained, printable HTML page. */
import { formatDuration, formatUtc } from '../output.js';
import { escapeHtml as e, htmlPage, htmlTable } from './html.js';
import { STATUS_SYMBOL, statusSymbol, STRIP_LENGTH, type RunView, type StatusModel } from './model.js';
import { outboxByKind, runOutcome } from './render-text.js';

const utc = (iso: string | null) => (iso ? formatUtc(new Date(iso)) : '-');

function badge(status: string, text = status): string {
  return `<span class="badge s-${e(status)}">${e(statusSymbol(status))} ${e(text)}</span>`;
}

function runTitle(r: RunView): string {
  const parts = [`run #${r.id}`, runOutcome(r), `started ${utc(r.startedAt)}`];
  if (r.durationMs !== null) parts.push(`took ${formatDuration(r.durationMs)}`);
  if (r.items !== null) parts.push(`${r.items} items`);
  if (r.error) parts.push(r.error);
  return parts.join(', ');
}

function strip(runs: RunView[]): string {
  if (runs.length === 0) return '<span class="muted">no runs yet</span>';
  const items = runs.map((r) => {
    const title = runTitle(r);
    return `<li class="s-${e(r.status)}" title="${e(title)}"><span aria-hidden="true">${e(statusSymbol(r.status))}</span><span class="sr">${e(title)}</span></li>`;
  });
  return `<ol class="strip" aria-label="last ${runs.length} runs, oldest first">${items.join('')}</ol>`;
}

export function renderStatusHtml(m: StatusModel): string {
  const sections: string[] = [];
  sections.push(
    `<p><strong>Check:</strong> <span class="badge v-${e(m.check.status)}">${e(m.check.summary)}</span> <span class="muted">(exit ${m.check.exitCode} for a monitor; schedules read in ${e(m.timezone)}; database ${e(m.database)})</span></p>`,
  );

  sections.push('<h2 id="jobs">Jobs</h2>');
  sections.push(
    htmlTable(
      'Every job with its schedule, next run and latest run',
      ['Job', 'Schedule', 'Enabled', 'Next run', 'Latest run', 'Result', 'Duration', 'Items', 'Check'],
      m.jobs.map((j) => {
        const r = j.latestRun;
        return [
          `<code>${e(j.name)}</code>`,
          j.schedule ? `<code>${e(j.schedule)}</code> <span class="muted">(${e(j.timezone)})</span>` : '<span class="muted">by hand</span>',
          j.enabled ? 'yes' : '<strong>no</strong> (disabled)',
          e(j.nextRunLocal ?? '-'),
          r ? e(utc(r.startedAt)) : 'never',
          r ? badge(r.status, runOutcome(r)) : '-',
          r?.durationMs != null ? e(formatDuration(r.durationMs)) : '-',
          r?.items != null ? String(r.items) : '-',
          `<span class="badge v-${e(j.check.status)}">${e(j.check.status)}</span> ${e(j.check.reason)}`,
        ];
      }),
      { rowHeaders: true, numeric: [7] },
    ),
  );

  sections.push(`<h2 id="runs">Last ${STRIP_LENGTH} runs of each job</h2>`);
  sections.push(
    `<p class="muted">Oldest first. Key: ${Object.entries(STATUS_SYMBOL)
      .map(([status]) => badge(status))
      .join(' · ')}. Each square's title tells the run, its result and how long it took.</p>`,
  );
  sections.push(htmlTable('The last runs of each job', ['Job', 'Runs'], m.jobs.map((j) => [`<code>${e(j.name)}</code>`, strip(j.recentRuns)]), { rowHeaders: true }));

  sections.push('<h2 id="problems">Failed and interrupted runs</h2>');
  sections.push(
    m.problemRuns.length === 0
      ? '<p>None among the recent runs.</p>'
      : htmlTable(
          'Recent runs that did not succeed, with their error',
          ['Run', 'Job', 'Result', 'Started', 'Error'],
          m.problemRuns.map((r) => [`#${r.id}`, `<code>${e(r.job)}</code>`, badge(r.status, runOutcome(r)), e(utc(r.startedAt)), e(r.error ?? '(no error recorded)')]),
          { rowHeaders: true },
        ),
  );

  sections.push('<h2 id="locks">Locks held</h2>');
  const lockRows = [
    ...m.locks.advisory.map((a) => [`<code>${e(a.job)}</code>`, 'advisory', e(a.label ?? `session ${a.session}`), e(utc(a.since)), 'with the connection']),
    ...m.locks.leases.map((l) => [`<code>${e(l.job ?? l.name)}</code>`, 'lease', e(l.holder), e(utc(l.since)), `${e(utc(l.expiresAt))}${l.expired ? ' <strong>(expired)</strong>' : ''}`]),
  ];
  sections.push(lockRows.length === 0 ? '<p>No job locks are held.</p>' : htmlTable('Job locks held now', ['Job', 'Kind', 'Holder', 'Since', 'Expires'], lockRows, { rowHeaders: true }));

  sections.push('<h2 id="outbox">Outbox backlog</h2>');
  const backlog = outboxByKind(m.outbox);
  sections.push(
    backlog.length === 0
      ? '<p>Nothing waiting, nothing failed.</p>'
      : htmlTable('Messages not sent yet or refused, by kind', ['Kind', 'Messages'], backlog.map((b) => [`<code>${e(b.kind)}</code>`, e(b.counts)]), { rowHeaders: true }),
  );
  sections.push(
    '<p class="muted">Refreshed by every run when ONTIME_STATUS_HTML is set; <code>ontime status</code> shows the same in a terminal, <code>ontime why &lt;job&gt;</code> explains a slot.</p>',
  );
  return htmlPage({ title: 'ontime status', generatedAt: new Date(m.generatedAt), host: m.host, body: sections.join('\n') });
}
