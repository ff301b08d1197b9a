/**
 * Mail templates with named fields (docs/mail-templates.md): a subject, a text part and an HTML
 * part, each a string where `{field_name}` is replaced by a value and `{{` / `}}` stand for
 * literal braces. Pure: no database, no clock, no I/O.
 *
 * The rules that make a template safe whatever the database holds:
 * - in the HTML part every value is HTML-escaped (there is no raw-HTML field);
 * - the subject is one header line: a template's own subject may not contain a line break, and
 *   line breaks that values bring in are folded to one space; it is cut to 255 characters;
 * - `{subject}` is always available to the text and HTML parts (the finished subject);
 * - a template is checked when it is loaded (compileTemplate): a field the mail kind does not
 *   offer, an unmatched brace or a line break in the subject is refused there, naming the field
 *   and the part, so a bad profile fails at start-up (78), not at the first due message;
 * - rendering with a value missing for a field the template uses fails naming that field.
 */
import { ConfigError } from '../../errors.js';
import { escapeHtml } from './html.js';

export interface MailTemplate {
  subject: string;
  text: string;
  html: string;
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

export type TemplatePart = keyof MailTemplate;

/** Field values by name: strings, or numbers written in decimal. */
export type TemplateValues = Readonly<Record<string, string | number>>;

/** The field the finished subject is offered as, in the text and HTML parts. */
export const SUBJECT_FIELD = 'subject';

/** How long a subject may be, in UTF-16 units (the outbox's subject column). */
export const SUBJECT_MAX = 255;

const FIELD_NAME = /^[a-z][a-z0-9_]*$/;

type Piece = { literal: string } | { field: string };

export class TemplateError extends ConfigError {}

/** Split one part into literal text and field references; throws on a malformed brace. */
function parsePart(source: string, where: string): Piece[] {
  const pieces: Piece[] = [];
  let literal = '';
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    if (ch === '{' && source[i + 1] === '{') {
      literal += '{';
      i++;
    } else if (ch === '}' && source[i + 1] === '}') {
      literal += '}';
      i++;
    } else if (ch === '{') {
      const end = source.indexOf('}', i + 1);
      const name = end < 0 ? '' : source.slice(i + 1, end);
      if (end < 0 || !FIELD_NAME.test(name)) {
        throw new TemplateError(
          `${where}: "{" at character ${i + 1} does not start a field like {case_reference}`,
          'field names are lower case letters, digits and _; write {{ for a literal {',
        );
      }
      if (literal) pieces.push({ literal });
      literal = '';
      pieces.push({ field: name });
      i = end;
    } else if (ch === '}') {
      throw new TemplateError(`${where}: "}" at character ${i + 1} closes no field`, 'write }} for a literal }');
    } else {
      literal += ch;
    }
  }
  if (literal) pieces.push({ literal });
  return pieces;
}

export interface CompiledTemplate {
  /** The mail kind's name, used in error messages. */
  readonly name: string;
  /** Every field some part uses (subject excluded). */
  readonly fields: ReadonlySet<string>;
  render(values: TemplateValues): RenderedEmail;
}

/** One header line: line breaks (and the spaces around them) become one space. */
export function headerLine(value: string): string {
  return value.replace(/\s*[\r\n]+\s*/g, ' ');
}

/**
 * Check a template against the fields its mail kind offers and prepare it for rendering.
 * `name` says where it came from in errors, e.g. `profile advisor-portal, template case-notification`.
 */
export function compileTemplate(name: string, template: MailTemplate, offered: readonly string[]): CompiledTemplate {
  const known = new Set(offered);
  const parts = {} as Record<TemplatePart, Piece[]>;
  const used = new Set<string>();
  for (const part of ['subject', 'text', 'html'] as const) {
    const source = template[part];
    const where = `${name}: ${part}`;
    if (typeof source !== 'string') throw new TemplateError(`${where} is missing (a string is required)`);
    if (part === 'subject' && /[\r\n]/.test(source)) {
      throw new TemplateError(`${where} contains a line break`, 'a subject is one header line');
    }
    if (part === 'subject' && !source.trim()) throw new TemplateError(`${where} is empty`);
    const pieces = parsePart(source, where);
    for (const p of pieces) {
      if (!('field' in p)) continue;
      const allowed = known.has(p.field) || (part !== 'subject' && p.field === SUBJECT_FIELD);
      if (!allowed) {
        throw new TemplateError(
          `${where} uses the unknown field {${p.field}}`,
          `fields offered here: ${[...known].sort().join(', ')}${part === 'subject' ? '' : `, ${SUBJECT_FIELD}`}`,
        );
      }
      if (p.field !== SUBJECT_FIELD) used.add(p.field);
    }
    parts[part] = pieces;
  }

  const fill = (pieces: Piece[], part: TemplatePart, values: TemplateValues, escape: (s: string) => string) =>
    pieces
      .map((p) => {
        if ('literal' in p) return p.literal;
        const value = values[p.field];
        if (value === undefined || value === null) {
          throw new TemplateError(`${name}: ${part} needs the field {${p.field}}, which has no value for this message`);
        }
        return escape(String(value));
      })
      .join('');

  return {
    name,
    fields: used,
    render(values) {
      const subject = headerLine(fill(parts.subject, 'subject', values, (s) => s)).slice(0, SUBJECT_MAX);
      const withSubject = { ...values, [SUBJECT_FIELD]: subject };
      return {
        subject,
        text: fill(parts.text, 'text', withSubject, (s) => s),
        html: fill(parts.html, 'html', withSubject, escapeHtml),
      };
    },
  };
}
