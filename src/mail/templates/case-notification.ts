/**
 * The scheduled notification email of a case (send-scheduled-emails): its fields, and the
 * built-in `ontime` template, which a profile may replace (docs/mail-templates.md).
 */
import { htmlDocument } from './html.js';
import { compileTemplate, type CompiledTemplate, type MailTemplate, type RenderedEmail, type TemplateValues } from './template.js';

export type { RenderedEmail } from './template.js';

export interface CaseNotificationInput {
  caseId: number;
  reference: string;
  title: string;
  contactName: string | null;
  /** SITE_URL, without a trailing slash. */
  siteUrl: string;
}

export function caseUrl(siteUrl: string, caseId: number): string {
  return `${siteUrl.replace(/\/+$/, '')}/cases/${caseId}/`;
}

/** The fields a case-notification template may use. */
export const CASE_NOTIFICATION_FIELDS = ['case_id', 'case_reference', 'case_title', 'contact_name', 'greeting', 'case_url', 'site_url'] as const;

export function caseNotificationValues(input: CaseNotificationInput): TemplateValues {
  const contact = input.contactName?.trim() ?? '';
  return {
    case_id: input.caseId,
    case_reference: input.reference,
    case_title: input.title,
    contact_name: contact,
    greeting: contact ? `Dear ${contact},` : 'Hello,',
    case_url: caseUrl(input.siteUrl, input.caseId),
    site_url: input.siteUrl.replace(/\/+$/, ''),
  };
}

export const CASE_NOTIFICATION_TEMPLATE: MailTemplate = {
  subject: 'Case {case_reference}: {case_title}',
  text: [
    '{greeting}',
    '',
    'There is an update on your case {case_reference}: {case_title}.',
    '',
    'You can see the case here:',
    '{case_url}',
    '',
    'This message was sent automatically; please do not reply to it.',
    '',
  ].join('\n'),
  html: htmlDocument(
    '{subject}',
    [
      '<p>{greeting}</p>',
      '<p>There is an update on your case <strong>{case_reference}</strong>: {case_title}.</p>',
      '<p><a href="{case_url}">View case {case_reference}</a></p>',
      '<p style="color: #666; font-size: 0.9em;">This message was sent automatically; please do not reply to it.</p>',
    ].join('\n'),
  ),
};

export function compileCaseNotification(name: string, template: MailTemplate, extraFields: readonly string[] = []): CompiledTemplate {
  return compileTemplate(name, template, [...CASE_NOTIFICATION_FIELDS, ...extraFields]);
}

const BUILT_IN = compileCaseNotification('built-in template case-notification', CASE_NOTIFICATION_TEMPLATE);

export function renderCaseNotification(input: CaseNotificationInput, template: CompiledTemplate = BUILT_IN): RenderedEmail {
  return template.render(caseNotificationValues(input));
}
