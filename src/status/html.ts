/**
 * The frame of every HTML page ontime writes (the status page, the governance report, the weekly
 * report's HTML part): one self-contained document, its style inline, no script, no font or image
 * from anywhere, readable in a dark-mode browser and on paper. Everything put in it is escaped.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Colours per run status; a symbol is always shown beside them (status is never told by colour alone). */
const STYLE = `
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --head: #f3f5f7;
  --succeeded: #1a7f37; --partial: #9a6700; --failed: #cf222e; --interrupted: #8250df; --abandoned: #6e2a2a;
  --skipped: #8c959f; --running: #0969da; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #30363d; --head: #161b22;
    --succeeded: #3fb950; --partial: #d29922; --failed: #f85149; --interrupted: #a371f7; --abandoned: #b76e6e;
    --skipped: #6e7681; --running: #58a6ff; }
}
body { background: var(--bg); color: var(--fg); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5rem; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; } h2 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; }
p.meta, .muted { color: var(--muted); }
table { border-collapse: collapse; margin: .25rem 0 1rem; }
th, td { border: 1px solid var(--line); padding: .3rem .55rem; text-align: left; vertical-align: top; }
thead th { background: var(--head); }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .92em; }
.badge { font-weight: 600; white-space: nowrap; }
.s-succeeded, .v-OK { color: var(--succeeded); } .s-partial, .v-WARNING { color: var(--partial); }
.s-failed, .v-CRITICAL { color: var(--failed); } .s-interrupted { color: var(--interrupted); }
.s-abandoned { color: var(--abandoned); } .s-skipped { color: var(--skipped); } .s-running { color: var(--running); }
ol.strip { list-style: none; display: flex; flex-wrap: wrap; gap: 2px; margin: 0; padding: 0; }
ol.strip li { width: 1.35em; height: 1.35em; line-height: 1.35em; text-align: center; border-radius: 3px;
  color: #fff; font-size: .85em; font-weight: 700; }
ol.strip li.s-succeeded { background: var(--succeeded); } ol.strip li.s-partial { background: var(--partial); }
ol.strip li.s-failed { background: var(--failed); } ol.strip li.s-interrupted { background: var(--interrupted); }
ol.strip li.s-abandoned { background: var(--abandoned); } ol.strip li.s-skipped { background: var(--skipped); }
ol.strip li.s-running { background: var(--running); }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media print {
  body { margin: 0; font-size: 11pt; } :root { --bg: #fff; --fg: #000; }
  * { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  table { page-break-inside: auto; } tr { page-break-inside: avoid; }
}
`;

export interface PageParts {
  title: string;
  /** Shown under the title: when and where the page was made. */
  generatedAt: Date;
  host: string;
  /** HTML, already escaped by the caller. */
  body: string;
}

export function htmlPage(parts: PageParts): string {
  const when = parts.generatedAt.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(parts.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(parts.title)}</h1>
<p class="meta">Generated <time datetime="${escapeHtml(parts.generatedAt.toISOString())}">${escapeHtml(when)}</time> on host <strong>${escapeHtml(parts.host)}</strong></p>
</header>
<main>
${parts.body}
</main>
</body>
</html>
`;
}

/** A table with column headers (`scope="col"`); the first cell of each row is its header (`scope="row"`) when rowHeaders is set. */
export function htmlTable(caption: string, head: string[], rows: string[][], options: { rowHeaders?: boolean; numeric?: number[] } = {}): string {
  const numeric = new Set(options.numeric ?? []);
  const cells = (row: string[]) =>
    row
      .map((cell, i) => (i === 0 && options.rowHeaders ? `<th scope="row">${cell}</th>` : `<td${numeric.has(i) ? ' class="num"' : ''}>${cell}</td>`))
      .join('');
  return `<table>
<caption class="sr">${escapeHtml(caption)}</caption>
<thead><tr>${head.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows.map((r) => `<tr>${cells(r)}</tr>`).join('\n')}
</tbody>
</table>`;
}
