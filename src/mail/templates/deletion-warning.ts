/**
 * The deletion warning a survey's owner receives 30, 7 and 1 day(s) before its data is deleted
 * (process-data-governance): which survey, the deletion instant in UTC, and where to ask for an
 * extension or an export.
 */
import { formatUtc } from '../../output.js';
import { escapeHtml, htmlDocument } from './html.js';

export interface DeletionWarningInput {
  surveyId: number;
  surveyName: string;
  ownerName: string | null;
  deletionDate: Date;
  daysBefore: 30 | 7 | 1;
  /** SITE_URL, without a trailing slash. */
  siteUrl: string;
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

export function surveyUrl(siteUrl: string, surveyId: number): string {
  return `${siteUrl.replace(/\/+$/, '')}/surveys/${surveyId}/`;
}

/** One header-safe line (no line breaks from a name typed with them), at most `max` characters. */
function oneLine(s: string, max: number): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function renderDeletionWarning(input: DeletionWarningInput): RenderedEmail {
  const when = formatUtc(input.deletionDate);
  const link = surveyUrl(input.siteUrl, input.surveyId);
  const within = input.daysBefore === 1 ? 'within 1 day' : `within ${input.daysBefore} days`;
  const name = oneLine(input.surveyName, 150);
  const subject = oneLine(`Survey "${name}" will be deleted ${within}, at ${when}`, 255);
  const greeting = input.ownerName?.trim() ? `Hello ${oneLine(input.ownerName, 100)},` : 'Hello,';
  const text = [
    greeting,
    '',
    `The data of your survey "${name}" (survey ${input.surveyId}) is scheduled for deletion at ${when}.`,
    'From that moment the survey and its responses are no longer available, and they are erased',
    'for good 30 days later, as the retention policy requires.',
    '',
    'If you still need the data, before that moment you can:',
    '  - export the responses, or',
    '  - ask for an extension of the retention period,',
    'here:',
    link,
    '',
    'If nothing is done, the deletion happens automatically.',
    '',
    'This message was sent automatically; please do not reply to it.',
    '',
  ].join('\n');
  const html = htmlDocument(
    subject,
    [
      `<p>${escapeHtml(greeting)}</p>`,
      `<p>The data of your survey <strong>${escapeHtml(name)}</strong> (survey ${input.surveyId}) is scheduled for deletion at <strong>${escapeHtml(when)}</strong>.`,
      'From that moment the survey and its responses are no longer available, and they are erased for good 30 days later, as the retention policy requires.</p>',
      '<p>If you still need the data, before that moment you can:</p>',
      '<ul><li>export the responses, or</li><li>ask for an extension of the retention period,</li></ul>',
      `<p><a href="${escapeHtml(link)}">Open the survey to export or ask for an extension</a><br>${escapeHtml(link)}</p>`,
      '<p>If nothing is done, the deletion happens automatically.</p>',
      `<p style="color: #666; font-size: 0.9em;">This message was sent automatically; please do not reply to it.</p>`,
    ].join('\n'),
  );
  return { subject, text, html };
}
