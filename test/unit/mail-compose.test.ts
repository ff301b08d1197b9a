/**
 * messageComposer writes the message nodemailer's own composer would (headers, encodings, parts),
 * only without streaming it: compared byte for byte, the Date and the boundary string aside.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import MailComposer from 'nodemailer/lib/mail-composer';
import { messageComposer } from '../../src/mail/compose.js';
import type { TransportMessage } from '../../src/mail/transport.js';

function nodemailerBuild(m: TransportMessage): Promise<string> {
  const mail = { from: m.from, to: m.to, subject: m.subject, text: m.text, html: m.html ?? undefined, messageId: m.messageId, headers: m.headers };
  return new Promise((resolve, reject) => new MailComposer(mail).compile().build((err, buf) => (err ? reject(err) : resolve(buf.toString('utf8')))));
}

/** Date and boundaries differ by construction; a boundary parameter may be folded onto its own line. */
function normalise(raw: string): string {
  const boundary = /boundary="?([^"\r\n;]+)"?/.exec(raw)?.[1];
  let out = raw.replace(/^Date: .*$/m, 'Date: D').replace(/;\r\n boundary=/, '; boundary=');
  if (boundary) out = out.split(boundary).join('B');
  return out;
}

const base = { messageId: '<ontime.x.1@example.org>', headers: { 'X-Ontime-Outbox': '7', 'Auto-Submitted': 'auto-generated' }, outboxId: 7 };
const cases: Array<[string, TransportMessage]> = [
  [
    'non-ASCII names and subject, long lines, an "=", a leading dot, text and html',
    {
      ...base,
      from: '"Ops Tëam" <ops@example.org>',
      to: 'a@example.test',
      subject: 'Fällig: Fall Nr. 42 – “quoted” ' + 'x'.repeat(80),
      text: 'Hallo,\n\nÄrger = 1 \n' + 'y'.repeat(200) + '\n.dot line\n',
      html: '<p>Hällo</p>\n<p>' + 'z'.repeat(300) + '</p>',
    },
  ],
  ['plain ASCII, text only', { ...base, from: 'ontime@example.test', to: 'b@example.test', subject: 'Plain subject', text: 'plain text\nline two\n', html: null }],
  ['a line break in the subject cannot add a header', { ...base, from: 'ontime@example.test', to: 'b@example.test', subject: 'Sub\r\nBcc: evil@example.test', text: 'no newline at end', html: '<b>hi</b>' }],
  ['CJK text only (base64 or quoted-printable as nodemailer chooses)', { ...base, from: 'Ops <ops@example.org>', to: 'c@example.test', subject: '日本語の件名', text: '日本語の本文\n'.repeat(30), html: null }],
];

for (const [name, message] of cases) {
  test(`composed message equals nodemailer's: ${name}`, async () => {
    const composed = messageComposer()(message);
    assert.equal(normalise(composed.raw.toString('utf8')), normalise(await nodemailerBuild(message)));
    assert.deepEqual(composed.envelope, { from: /<(.+)>/.exec(message.from)?.[1] ?? message.from, to: [message.to] });
    assert.doesNotMatch(composed.raw.toString('utf8'), /^Bcc:/m);
  });
}

test('each message of a composer gets its own boundary', () => {
  const compose = messageComposer();
  const m: TransportMessage = { ...base, from: 'ontime@example.test', to: 'b@example.test', subject: 's', text: 't', html: '<p>h</p>' };
  const boundary = (raw: Buffer) => /boundary="?([^"\r\n;]+)"?/.exec(raw.toString('utf8'))?.[1];
  const a = boundary(compose(m).raw);
  const b = boundary(compose(m).raw);
  assert.ok(a && b && a !== b);
});
