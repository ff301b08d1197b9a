/**
 * The Prometheus text exposition format (version 0.0.4), written and read back: the textfile
 * keeps other jobs' series, so it must parse what is already there.
 */
import { FAMILIES, type Sample } from './series.js';

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

export function formatSample(s: Sample): string {
  const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return `${s.name}${labels.length ? `{${labels.join(',')}}` : ''} ${formatValue(s.value)}`;
}

/** Samples grouped by family, each family once with its HELP and TYPE, in a stable order. */
export function renderExposition(samples: Sample[]): string {
  const byName = new Map<string, Sample[]>();
  for (const s of samples) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  const names = [...byName.keys()].sort();
  const lines: string[] = [];
  for (const name of names) {
    const family = FAMILIES[name];
    if (family) lines.push(`# HELP ${name} ${family.help}`, `# TYPE ${name} ${family.type}`);
    for (const s of byName.get(name)!) lines.push(formatSample(s));
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*,?)?\\})? (\\S+)(?: -?\\d+)?$`);
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"/g;
const COMMENT_LINE = new RegExp(`^# (?:(?:HELP|TYPE) ${NAME}(?: .*)?|(?!HELP |TYPE ).*)$|^#$`);

function parseValue(text: string): number | undefined {
  if (text === 'NaN') return NaN;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  const n = Number(text);
  return text.trim() !== '' && !Number.isNaN(n) ? n : undefined;
}

export class ExpositionError extends Error {}

/** Samples of a text in the exposition format; throws ExpositionError at the first line that is not. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      if (!COMMENT_LINE.test(line)) throw new ExpositionError(`line ${i + 1}: malformed comment: ${line}`);
      return;
    }
    const m = SAMPLE_LINE.exec(line);
    const value = m ? parseValue(m[3]!) : undefined;
    if (!m || value === undefined) throw new ExpositionError(`line ${i + 1}: not a sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(LABEL_PAIR)) {
      labels[k!] = v!.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: m[1]!, labels, value });
  });
  return samples;
}
