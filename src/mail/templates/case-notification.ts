/** The scheduled notification email of a case (send-scheduled-emails). */
import { escapeHtml, htmlDocument } from './html.js';

export interface CaseNotificationInput {
  caseId: number;
  reference: string;
  title: string;
  contactName: string | null;
  /** SITE_URL, without a trailing slash. */
  siteUrl: string;
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

export function caseUrl(siteUrl: string, caseId: number): string {
  return `${siteUrl.replace(/\/+$/, '')}/cases/${caseId}/`;
}

export function renderCaseNotification(input: CaseNotificationInput): RenderedEmail {
  const link = caseUrl(input.siteUrl, input.caseId);
  // A subject is one header line: no line breaks from a title typed with them.
  const subject = `Case ${input.reference}: ${input.title}`.replace(/\s*[\r\n]+\s*/g, ' ').slice(0, 255);
  const greeting = input.contactName?.trim() ? `Dear ${input.contactName.trim()},` : 'Hello,';
  const text = [
    greeting,
    '',
    `There is an update on your case ${input.reference}: ${input.title}.`,
    '',
    'You can see the case here:',
    link,
    '',
    'This message was sent automatically; please do not reply to it.',
    '',
  ].join('\n');
  const html = htmlDocument(
    subject,
    [
      `<p>${escapeHtml(greeting)}</p>`,
      `<p>There is an update on your case <strong>${escapeHtml(input.reference)}</strong>: ${escapeHtml(input.title)}.</p>`,
      `<p><a href="${escapeHtml(link)}">View case ${escapeHtml(input.reference)}</a></p>`,
      `<p style="color: #666; font-size: 0.9em;">This message was sent automatically; please do not reply to it.</p>`,
    ].join('\n'),
  );
  return { subject, text, html };
}
