/**
 * A profile's own mail templates (docs/mail-templates.md): checked when the profile is loaded
 * (checkProfileTemplates, from profiles/validate.ts: a bad template is a configuration error, 78,
 * before anything runs) and compiled for the job that sends that kind (profileTemplate).
 */
import type { Profile, ProfileTemplates } from '../../profiles/types.js';
import { compileCaseNotification } from './case-notification.js';
import { compileDeletionWarning } from './deletion-warning.js';
import { TemplateError, type CompiledTemplate, type MailTemplate } from './template.js';

const KINDS: Record<keyof ProfileTemplates, (name: string, t: MailTemplate, extra?: readonly string[]) => CompiledTemplate> = {
  'case-notification': compileCaseNotification,
  'deletion-warning': compileDeletionWarning,
};

/** Check a profile file's `templates` value; returns it as the profile keeps it. */
export function checkProfileTemplates(source: string, value: unknown, extraFields: readonly string[] = []): ProfileTemplates {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TemplateError(`${source}: templates: must be a mapping of mail kinds (${Object.keys(KINDS).join(', ')}) to templates`);
  }
  const out: ProfileTemplates = {};
  for (const [kind, template] of Object.entries(value)) {
    const compile = KINDS[kind as keyof ProfileTemplates];
    if (!compile) throw new TemplateError(`${source}: templates.${kind}: unknown mail kind (known: ${Object.keys(KINDS).join(', ')})`);
    if (typeof template !== 'object' || template === null) throw new TemplateError(`${source}: templates.${kind}: must be a mapping with subject, text and html`);
    const t = template as Record<string, unknown>;
    for (const k of Object.keys(t)) {
      if (!['subject', 'text', 'html'].includes(k)) throw new TemplateError(`${source}: templates.${kind}.${k}: unknown key (known: subject, text, html)`);
    }
    compile(`${source}: templates.${kind}`, t as unknown as MailTemplate, extraFields);
    out[kind as keyof ProfileTemplates] = { subject: t.subject as string, text: t.text as string, html: t.html as string };
  }
  return out;
}

/** The fields a profile's status release rule adds to its templates: its computed fields and the recipients. */
export function profileFields(profile: Profile): string[] {
  const rule = profile.cases?.statusRelease;
  return rule ? [...Object.keys(rule.fields), 'recipients'] : [];
}

const compiled = new WeakMap<Profile, Map<string, CompiledTemplate | undefined>>();

/** The profile's compiled template for a kind (compiled once per profile), or undefined: the built-in template applies. */
export function profileTemplate(profile: Profile, kind: keyof ProfileTemplates): CompiledTemplate | undefined {
  let byKind = compiled.get(profile);
  if (!byKind) compiled.set(profile, (byKind = new Map()));
  if (!byKind.has(kind)) {
    const t = profile.templates[kind];
    byKind.set(kind, t ? KINDS[kind](`profile ${profile.name}: templates.${kind}`, t, profileFields(profile)) : undefined);
  }
  return byKind.get(kind);
}
