/**
 * Mail templates (src/mail/templates/template.ts): named fields, escaping per part, header-safe
 * subjects, errors that name the field, and the built-in templates reproducing, byte for byte,
 * the messages ontime built in code before templates existed (mail-templates.golden.json was
 * written by those functions).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { compileTemplate, TemplateError } from '../../src/mail/templates/template.js';
import { compileCaseNotification, renderCaseNotification, type CaseNotificationInput } from '../../src/mail/templates/case-notification.js';
import { renderDeletionWarning, type DeletionWarningInput } from '../../src/mail/templates/deletion-warning.js';
import { ConfigError } from '../../src/errors.js';

const golden = JSON.parse(readFileSync(new URL('./mail-templates.golden.json', import.meta.url), 'utf8')) as {
  cases: { input: CaseNotificationInput; output: { subject: string; text: string; html: string } }[];
  warnings: { input: Omit<DeletionWarningInput, 'deletionDate'> & { deletionDate: string }; output: { subject: string; text: string; html: string } }[];
};

test('the built-in case-notification template renders what ontime sent before, byte for byte', () => {
  for (const { input, output } of golden.cases) assert.deepEqual(renderCaseNotification(input), output);
});

test('the built-in deletion-warning template renders what ontime sent before, byte for byte', () => {
  for (const { input, output } of golden.warnings) {
    assert.deepEqual(renderDeletionWarning({ ...input, deletionDate: new Date(input.deletionDate) }), output);
  }
});

const offered = ['employee_first', 'employee_last', 'case_url'];
const portal = {
  subject: 'REPORT: The case for {employee_first} {employee_last} is ready for you!',
  text: 'Open {case_url}\nSubject was: {subject}\n{{literal}}',
  html: '<title>{subject}</title><a href="{case_url}">{employee_first}</a>',
};

test('fields are replaced in every part; {subject} is the finished subject; {{ and }} are literal braces', () => {
  const t = compileTemplate('test', portal, offered);
  const r = t.render({ employee_first: 'Ada', employee_last: 'Lovelace', case_url: 'https://p.test/cases/3/' });
  assert.equal(r.subject, 'REPORT: The case for Ada Lovelace is ready for you!');
  assert.equal(r.text, 'Open https://p.test/cases/3/\nSubject was: REPORT: The case for Ada Lovelace is ready for you!\n{literal}');
  assert.deepEqual([...t.fields].sort(), ['case_url', 'employee_first', 'employee_last']);
});

test('values are HTML-escaped in the HTML part only', () => {
  const t = compileTemplate('test', portal, offered);
  const r = t.render({ employee_first: '<b>"A" & \'B\'</b>', employee_last: 'X', case_url: 'https://p.test/?a=1&b=2' });
  assert.equal(r.html, '<title>REPORT: The case for &lt;b&gt;&quot;A&quot; &amp; &#39;B&#39;&lt;/b&gt; X is ready for you!</title>' +
    '<a href="https://p.test/?a=1&amp;b=2">&lt;b&gt;&quot;A&quot; &amp; &#39;B&#39;&lt;/b&gt;</a>');
  assert.match(r.text, /\?a=1&b=2/);
  assert.match(r.subject, /<b>"A" & 'B'<\/b>/);
});

test('the subject stays one header line whatever the values hold, and at most 255 characters', () => {
  const t = compileTemplate('test', portal, offered);
  const r = t.render({ employee_first: 'Ada\r\nBcc: x@evil.test', employee_last: 'L\n\n'.repeat(200), case_url: 'u' });
  assert.doesNotMatch(r.subject, /[\r\n]/);
  assert.ok(r.subject.startsWith('REPORT: The case for Ada Bcc: x@evil.test L L'));
  assert.equal(r.subject.length, 255);
  // The text part keeps the value as written: only headers need one line.
  assert.match(compileTemplate('t', { subject: 's', text: '{employee_first}', html: '' }, offered).render({ employee_first: 'a\nb' }).text, /a\nb/);
});

test('a value missing at render time fails naming the field and the part', () => {
  const t = compileTemplate('profile advisor-portal, template case-notification', portal, offered);
  assert.throws(
    () => t.render({ employee_first: 'Ada', case_url: 'u' }),
    (err: Error) => err instanceof TemplateError && /subject needs the field \{employee_last\}/.test(err.message) && /advisor-portal/.test(err.message),
  );
});

test('a template is checked when loaded: unknown field, bad braces, line break or empty subject, missing part', () => {
  const bad: [Partial<typeof portal>, RegExp][] = [
    [{ subject: 'Case {employe_first}' }, /subject uses the unknown field \{employe_first\}/],
    [{ text: 'x {Case}' }, /text: "\{" at character 3 does not start a field/],
    [{ html: 'a } b' }, /html: "\}" at character 3 closes no field/],
    [{ text: 'open {case_url' }, /text: "\{" at character 6/],
    [{ subject: 'two\nlines' }, /subject contains a line break/],
    [{ subject: '  ' }, /subject is empty/],
    [{ subject: 'The {subject}' }, /subject uses the unknown field \{subject\}/],
  ];
  for (const [change, message] of bad) {
    assert.throws(() => compileTemplate('tpl', { ...portal, ...change }, offered), (err: Error) => err instanceof TemplateError && message.test(err.message), String(message));
  }
  assert.throws(() => compileTemplate('tpl', { subject: 's', text: 't' } as never, offered), /tpl: html is missing/);
  // A template error is a configuration error: the run exits 78 before any mail is due.
  try {
    compileTemplate('tpl', { ...portal, subject: '{nope}' }, offered);
    assert.fail('no error');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal((err as ConfigError).exitCode, 78);
    assert.match((err as ConfigError).hint ?? '', /case_url, employee_first, employee_last/);
  }
});

test('a profile template for the case notification may use the built-in fields and the fields its profile adds', () => {
  const t = compileCaseNotification('p', { subject: 'REPORT: {employee_first} ({case_reference})', text: '{greeting} {case_url}', html: '{case_title}' }, ['employee_first']);
  const r = t.render({ employee_first: 'Ada', case_reference: 'WS-1', greeting: 'Hello,', case_url: 'u', case_title: 'T' });
  assert.equal(r.subject, 'REPORT: Ada (WS-1)');
  assert.throws(() => compileCaseNotification('p', { subject: '{employee_first}', text: '', html: '' }), /unknown field \{employee_first\}/);
});
