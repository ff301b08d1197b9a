/**
 * The deletion warning a survey's owner receives 30, 7 and 1 day(s) before its data is deleted
 * (process-data-governance): which survey, the deletion instant in UTC, and where to ask for an
 * extension or an export. Its fields, and the built-in `ontime` template a profile may replace
 * (docs/mail-templates.md).
 */
import { formatUtc } from '../../output.js';
import { htmlDocument } from './html.js';
import { compileTemplate, type CompiledTemplate, type MailTemplate, type RenderedEmail, type TemplateValues } from './template.js';

export type { RenderedEmail } from './template.js';

export interface DeletionWarningInput {
  surveyId: number;
  surveyName: string;
  ownerName: string | null;
  deletionDate: Date;
  daysBefore: 30 | 7 | 1;
  /** SITE_URL, without a trailing slash. */
  siteUrl: string;
}

export function surveyUrl(siteUrl: string, surveyId: number): string {
  return `${siteUrl.replace(/\/+$/, '')}/surveys/${surveyId}/`;
}

/** One line (no line breaks from a name typed with them), at most `max` characters. */
function oneLine(s: string, max: number): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The fields a deletion-warning template may use. */
export const DELETION_WARNING_FIELDS = [
  'survey_id',
  'survey_name',
  'owner_name',
  'greeting',
  'deletion_time',
  'days_before',
  'within',
  'survey_url',
  'site_url',
] as const;

export function deletionWarningValues(input: DeletionWarningInput): TemplateValues {
  const owner = input.ownerName?.trim() ? oneLine(input.ownerName, 100) : '';
  return {
    survey_id: input.surveyId,
    survey_name: oneLine(input.surveyName, 150),
    owner_name: owner,
    greeting: owner ? `Hello ${owner},` : 'Hello,',
    deletion_time: formatUtc(input.deletionDate),
    days_before: input.daysBefore,
    within: input.daysBefore === 1 ? 'within 1 day' : `within ${input.daysBefore} days`,
    survey_url: surveyUrl(input.siteUrl, input.surveyId),
    site_url: input.siteUrl.replace(/\/+$/, ''),
  };
}

export const DELETION_WARNING_TEMPLATE: MailTemplate = {
  subject: 'Survey "{survey_name}" will be deleted {within}, at {deletion_time}',
  text: [
    '{greeting}',
    '',
    'The data of your survey "{survey_name}" (survey {survey_id}) is scheduled for deletion at {deletion_time}.',
    'From that moment the survey and its responses are no longer available, and they are erased',
    'for good 30 days later, as the retention policy requires.',
    '',
    'If you still need the data, before that moment you can:',
    '  - export the responses, or',
    '  - ask for an extension of the retention period,',
    'here:',
    '{survey_url}',
    '',
    'If nothing is done, the deletion happens automatically.',
    '',
    'This message was sent automatically; please do not reply to it.',
    '',
  ].join('\n'),
  html: htmlDocument(
    '{subject}',
    [
      '<p>{greeting}</p>',
      '<p>The data of your survey <strong>{survey_name}</strong> (survey {survey_id}) is scheduled for deletion at <strong>{deletion_time}</strong>.',
      'From that moment the survey and its responses are no longer available, and they are erased for good 30 days later, as the retention policy requires.</p>',
      '<p>If you still need the data, before that moment you can:</p>',
      '<ul><li>export the responses, or</li><li>ask for an extension of the retention period,</li></ul>',
      '<p><a href="{survey_url}">Open the survey to export or ask for an extension</a><br>{survey_url}</p>',
      '<p>If nothing is done, the deletion happens automatically.</p>',
      '<p style="color: #666; font-size: 0.9em;">This message was sent automatically; please do not reply to it.</p>',
    ].join('\n'),
  ),
};

export function compileDeletionWarning(name: string, template: MailTemplate, extraFields: readonly string[] = []): CompiledTemplate {
  return compileTemplate(name, template, [...DELETION_WARNING_FIELDS, ...extraFields]);
}

const BUILT_IN = compileDeletionWarning('built-in template deletion-warning', DELETION_WARNING_TEMPLATE);

export function renderDeletionWarning(input: DeletionWarningInput, template: CompiledTemplate = BUILT_IN): RenderedEmail {
  return template.render(deletionWarningValues(input));
}
