/**
 * SMTP encryption against the real in-process smtp-server offering STARTTLS with a certificate of
 * a test CA: STARTTLS is used whenever offered, and the password never crosses in clear unless
 * EMAIL_ALLOW_PLAINTEXT_AUTH=true (and then doctor warns).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { createTransport } from '../../src/mail/transport.js';
import { emptyCwd, spawnCli } from '../helpers/cli.js';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp.js';
import { makeTestCa, type TestCa } from '../helpers/tls.js';

const message = (outboxId: number) => ({
  from: 'cases@ontime.example',
  to: 'person@example.test',
  subject: 'Hello',
  text: 'body',
  messageId: `<${outboxId}@ontime.test>`,
  headers: {},
  outboxId,
});

async function sendOne(env: Record<string, string>): Promise<unknown> {
  const transport = await createTransport(loadConfig(env, emptyCwd).email);
  try {
    return await transport.send(message(1));
  } finally {
    await transport.close();
  }
}

const emailLine = (stdout: string) => stdout.split('\n').filter((l) => /email/.test(l)).join('\n');

describe('SMTP TLS', () => {
  let ca: TestCa;
  let withTls: TestSmtpServer;
  let plain: TestSmtpServer;
  before(async () => {
    ca = makeTestCa();
    const cert = ca.issue('smtp', 'IP:127.0.0.1');
    withTls = await startSmtpServer({ tls: { key: cert.key, cert: cert.cert } });
    plain = await startSmtpServer();
  });
  after(async () => {
    await withTls.close();
    await plain.close();
  });

  test('without EMAIL_USE_TLS, STARTTLS is used when the server offers it', async () => {
    const result = await sendOne(withTls.env());
    assert.deepEqual(result, { ok: true });
    assert.equal(withTls.messages.at(-1)?.secure, true);
  });

  test('a server without STARTTLS still receives mail without credentials', async () => {
    assert.deepEqual(await sendOne(plain.env()), { ok: true });
    assert.equal(plain.messages.at(-1)?.secure, false);
  });

  test('credentials are never sent to a server that offers no STARTTLS: refused as a setting (78)', async () => {
    const logins = plain.logins.length;
    const result = (await sendOne({ ...plain.env(), EMAIL_HOST_USER: 'mailer', EMAIL_HOST_PASSWORD: 'pw-123' })) as { kind: string; cause: string; error: string };
    assert.equal(result.kind, 'unreachable');
    assert.equal(result.cause, 'config');
    assert.match(result.error, /STARTTLS/);
    assert.equal(plain.logins.length, logins);
    const doctor = await spawnCli(['doctor'], { ...plain.env(), EMAIL_HOST_USER: 'mailer', EMAIL_HOST_PASSWORD: 'pw-123' });
    assert.match(emailLine(doctor.stdout), /FAIL.*STARTTLS/);
    assert.equal(plain.logins.length, logins);
  });

  test('credentials go over STARTTLS with a certificate the system trusts (NODE_EXTRA_CA_CERTS)', async () => {
    const env = { ...withTls.env(), EMAIL_HOST_USER: 'mailer', EMAIL_HOST_PASSWORD: 'pw-123', NODE_EXTRA_CA_CERTS: ca.certFile };
    const doctor = await spawnCli(['doctor'], env);
    assert.match(emailLine(doctor.stdout), /ok.*accepted the login/);
    assert.deepEqual(withTls.logins.at(-1), { user: 'mailer', secure: true });
  });

  test('credentials are not sent after STARTTLS to an untrusted certificate', async () => {
    const logins = withTls.logins.length;
    const result = (await sendOne({ ...withTls.env(), EMAIL_HOST_USER: 'mailer', EMAIL_HOST_PASSWORD: 'pw-123' })) as { ok: boolean; cause?: string };
    assert.equal(result.ok, false);
    assert.equal(result.cause, 'config');
    assert.equal(withTls.logins.length, logins);
  });

  test('EMAIL_ALLOW_PLAINTEXT_AUTH=true logs in without TLS, and doctor warns', async () => {
    const env = { ...plain.env(), EMAIL_HOST_USER: 'mailer', EMAIL_HOST_PASSWORD: 'pw-123', EMAIL_ALLOW_PLAINTEXT_AUTH: 'true' };
    assert.deepEqual(await sendOne(env), { ok: true });
    assert.deepEqual(plain.logins.at(-1), { user: 'mailer', secure: false });
    const doctor = await spawnCli(['doctor'], env);
    assert.match(emailLine(doctor.stdout), /warn.*EMAIL_ALLOW_PLAINTEXT_AUTH/);
  });
});
