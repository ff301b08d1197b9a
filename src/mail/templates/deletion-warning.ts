/**
 * The deletion warning a survey's owner receives 30, 7 and 1 day(s) before its data is deleted:
 * which survey, the deletion instant in UTC, and where to ask for an extension or an export.
 */
import { formatUtc } from '../../output.js';

export interface DeletionWarningInput {
  surveyId: number;
  surveyName: string;
  ownerName: string | null;
  deletionDate: Date;
  daysBefore: 30 | 7 | 1;
  /** SITE_URL without a trailing slash. */
  siteUrl: string;
}

export interface RenderedMessage {
  subject: string;
  text: string;
  html: string;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Header-safe: no line breaks, bounded length (the outbox subject is varchar(255)). */
function oneLine(s: string, max: number): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function deletionWarningMessage(input: DeletionWarningInput): RenderedMessage {
  const when = formatUtc(input.deletionDate);
  const surveyUrl = `${input.siteUrl}/surveys/${input.surveyId}/`;
  const inWords = input.daysBefore === 1 ? 'within 1 day' : `within ${input.daysBefore} days`;
  const name = oneLine(input.surveyName, 150);
  const subject = oneLine(`Survey "${name}" will be deleted ${inWords} (${when})`, 255);
  const greeting = input.ownerName ? `Hello ${oneLine(input.ownerName, 100)},` : 'Hello,';
  const text = [
    greeting,
    '',
    `The data of your survey "${name}" (survey ${input.surveyId}) is scheduled for deletion at ${when}.`,
    'From that moment the survey and its responses are no longer available; they are permanently',
    'erased 30 days later, as the retention policy requires.',
    '',
    'If you still need the data:',
    `  - export the responses before ${when}, or`,
    '  - ask for an extension of the retention period (up to 24 months in total),',
    `at ${surveyUrl}`,
    '',
    'If nothing is done, the deletion happens automatically.',
    '',
    'This is an automatic message about data retention.',
  ].join('\n');
  const html = `<!doctype html>
<html><body style="font-family: sans-serif; line-height: 1.4">
<p>${escapeHtml(greeting)}</p>
<p>The data of your survey <strong>${escapeHtml(name)}</strong> (survey ${input.surveyId}) is scheduled for deletion at <strong>${escapeHtml(when)}</strong>.
From that moment the survey and its responses are no longer available; they are permanently erased 30 days later, as the retention policy requires.</p>
<p>If you still need the data:</p>
<ul>
<li>export the responses before ${escapeHtml(when)}, or</li>
<li>ask for an extension of the retention period (up to 24 months in total),</li>
</ul>
<p>at <a href="${escapeHtml(surveyUrl)}">${escapeHtml(surveyUrl)}</a>.</p>
<p>If nothing is done, the deletion happens automatically.</p>
<p style="color: #666">This is an automatic message about data retention.</p>
</body></html>
`;
  return { subject, text, html };
}
