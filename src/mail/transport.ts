/**
 * The transports of EMAIL_BACKEND: `smtp` (a pooled nodemailer connection), `console` (print the
 * message) and `file` (one .eml file per message in EMAIL_FILE_PATH). nodemailer is imported here,
 * lazily, so nothing loads it unless a job actually sends mail.
 *
 * A transport never throws for what the server answered: send() says whether the message was
 * accepted, deferred (try again next run), failed for good, or could not be handed over at all.
 */
import { accessSync, constants as fsConstants } from 'node:fs';
import { resolve } from 'node:path';
import type { EmailConfig } from '../config.js';
import { redact, TLS_CERTIFICATE_CODES } from '../errors.js';
import { makePrivateDir, writeNewPrivateFile } from '../files.js';

export interface TransportMessage {
  from: string;
  to: string;
  subject: string;
  text: string;
  html?: string | null;
  messageId: string;
  /** Extra headers, e.g. X-Ontime-Outbox. */
  headers: Record<string, string>;
  /** Names the .eml file of the file backend. */
  outboxId: number;
}

export type UnreachableCause = 'connect' | 'auth' | 'config';

export type SendResult =
  | { ok: true }
  | { ok: false; kind: 'deferred' | 'failed'; error: string }
  | { ok: false; kind: 'unreachable'; error: string; cause: UnreachableCause };

export type VerifyResult = { ok: true; detail: string } | { ok: false; error: string; cause: UnreachableCause };

export interface Transport {
  readonly backend: 'smtp' | 'console' | 'file';
  /** How many messages may be handed to send() at once (smtp: its pooled connections). */
  readonly concurrency: number;
  send(message: TransportMessage): Promise<SendResult>;
  verify(): Promise<VerifyResult>;
  close(): Promise<void>;
}

/** Where the console backend prints: the run's Output (its `line`), or a plain stream. */
export type ConsoleSink = { line(text: string): void } | { write(chunk: string): unknown };

export interface TransportOptions {
  console?: ConsoleSink;
  /** Base for a relative EMAIL_FILE_PATH (default: the process's working directory). */
  cwd?: string;
}

export async function createTransport(email: EmailConfig, options: TransportOptions = {}): Promise<Transport> {
  switch (email.backend) {
    case 'smtp':
      return createSmtpTransport(email);
    case 'console':
      return createConsoleTransport(options.console ?? process.stdout);
    case 'file':
      return createFileTransport(resolve(options.cwd ?? process.cwd(), email.filePath));
    default:
      throw new Error('createTransport called without a configured EMAIL_BACKEND');
  }
}

// ---------------------------------------------------------------------------------------------
// SMTP

/** Seconds we wait for a TCP connection and for the greeting: long enough for a slow relay, short for cron. */
const CONNECTION_TIMEOUT_MS = 15_000;
const GREETING_TIMEOUT_MS = 15_000;
const SOCKET_TIMEOUT_MS = 60_000;

async function createSmtpTransport(email: EmailConfig): Promise<Transport> {
  const nodemailer = (await import('nodemailer')).default;
  const compose = (await import('./compose.js')).messageComposer();
  const where = `${email.host}:${email.port}`;
  const transporter = nodemailer.createTransport({
    pool: true,
    // ONTIME_SMTP_CONNECTIONS connections, each reused for many messages; the outbox hands over at
    // most that many messages at once, so none waits in nodemailer's queue unclaimed.
    maxConnections: email.connections,
    maxMessages: Number.POSITIVE_INFINITY,
    // A connection lost mid-message is the outbox's business (the row goes back to pending);
    // the pool must not quietly send the message again on its own.
    maxRequeues: 0,
    host: email.host,
    port: email.port,
    // EMAIL_USE_SSL: implicit TLS (usually port 465). Otherwise STARTTLS whenever the server
    // offers it; required (the session fails before AUTH) with EMAIL_USE_TLS, and whenever there
    // are credentials to protect, unless EMAIL_ALLOW_PLAINTEXT_AUTH says a clear login is wanted.
    secure: email.useSsl,
    requireTLS: mustEncrypt(email),
    ignoreTLS: false,
    // Opportunistic STARTTLS (nothing secret to send) encrypts without checking the certificate,
    // so a relay with a self-signed certificate keeps working; required TLS checks it.
    tls: email.useSsl || mustEncrypt(email) ? undefined : { rejectUnauthorized: false },
    auth: email.user ? { user: email.user, pass: email.password ?? '' } : undefined,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    greetingTimeout: GREETING_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
  });
  return {
    backend: 'smtp',
    concurrency: email.connections,
    async send(message) {
      try {
        // Composed in memory and handed over whole: one write to the socket per message.
        const { raw, envelope } = compose(message);
        await transporter.sendMail({ raw, envelope, messageId: message.messageId });
        return { ok: true };
      } catch (err) {
        return classifySmtpError(err, where);
      }
    },
    async verify() {
      try {
        await transporter.verify();
        return { ok: true, detail: `SMTP server ${where} answered${email.user ? ' and accepted the login' : ''}` };
      } catch (err) {
        const r = classifySmtpError(err, where);
        return { ok: false, error: r.ok ? 'unexpected' : r.error, cause: r.ok || r.kind !== 'unreachable' ? 'connect' : r.cause };
      }
    },
    async close() {
      transporter.close();
    },
  };
}

/** Whether the SMTP session must be encrypted before anything secret is sent. */
export function mustEncrypt(email: EmailConfig): boolean {
  return email.useTls || (email.user !== undefined && !email.useSsl && !email.allowPlaintextAuth);
}

interface SmtpErrorLike {
  code?: string;
  originalCode?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  timeoutType?: string;
  message?: string;
  errors?: SmtpErrorLike[];
}

/** Codes of a server that cannot be reached at all: nothing was said, nothing can have been accepted. */
const NOT_REACHED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/**
 * nodemailer's error → what the outbox does with the row. The order matters: a reply code is the
 * server's own verdict and wins; without one, connection errors are sorted into "never reached"
 * (before the greeting) and "lost mid-conversation".
 */
export function classifySmtpError(raw: unknown, where: string): Exclude<SendResult, { ok: true }> {
  const err = (raw ?? {}) as SmtpErrorLike;
  const answer = err.response ? oneLine(err.response) : undefined;
  if (err.code === 'EAUTH' || err.code === 'ENOAUTH') {
    return {
      ok: false,
      kind: 'unreachable',
      cause: 'auth',
      error: `SMTP server ${where} refused the login${answer ? `: ${answer}` : ''} (check EMAIL_HOST_USER and EMAIL_HOST_PASSWORD)`,
    };
  }
  const untrusted = TLS_CERTIFICATE_CODES.has(err.originalCode ?? err.code ?? '');
  if ((err.code === 'ETLS' && err.command === 'STARTTLS') || untrusted) {
    // Before any message or password was sent: a setting to fix, not a message to retry.
    const refused = !untrusted && typeof err.responseCode === 'number';
    return {
      ok: false,
      kind: 'unreachable',
      cause: 'config',
      error: refused
        ? `SMTP server ${where} does not offer STARTTLS${answer ? ` (${answer})` : ''}; ontime does not send EMAIL_HOST_PASSWORD or require-TLS mail in clear (use EMAIL_USE_SSL for port 465, or EMAIL_ALLOW_PLAINTEXT_AUTH=true on a trusted network)`
        : `TLS with the SMTP server ${where} failed: ${oneLine(err.message ?? '')} (the certificate must be trusted: NODE_EXTRA_CA_CERTS names a private CA)`,
    };
  }
  if (typeof err.responseCode === 'number' && err.responseCode >= 400 && err.responseCode < 600) {
    const said = answer ?? `${err.responseCode}`;
    const stage = err.command && err.command !== 'CONN' ? ` to ${err.command}` : '';
    // 5xx is permanent, except 503 (bad sequence of commands): that is our session, not the message.
    if (err.responseCode >= 500 && err.responseCode !== 503) {
      return { ok: false, kind: 'failed', error: `SMTP server ${where} answered${stage}: ${said}` };
    }
    return { ok: false, kind: 'deferred', error: `SMTP server ${where} answered${stage}: ${said}` };
  }
  const systemCode = err.originalCode ?? err.errors?.[0]?.code ?? err.code;
  if (err.code === 'EDNS' || (systemCode && NOT_REACHED.has(systemCode))) {
    return {
      ok: false,
      kind: 'unreachable',
      cause: 'connect',
      error: `cannot reach the SMTP server ${where} (${systemCode && systemCode !== 'EDNS' ? systemCode : 'host name not found'}) — check EMAIL_HOST and EMAIL_PORT`,
    };
  }
  if (err.code === 'ETIMEDOUT' && (err.timeoutType === 'CONNECT_TIMEOUT' || err.timeoutType === 'GREETING_TIMEOUT')) {
    return {
      ok: false,
      kind: 'unreachable',
      cause: 'connect',
      error: `the SMTP server ${where} did not answer (${err.timeoutType === 'CONNECT_TIMEOUT' ? 'connection' : 'greeting'} timed out)`,
    };
  }
  if (err.code === 'ETLS' || /certificate|ssl|tls/i.test(err.message ?? '')) {
    return {
      ok: false,
      kind: 'unreachable',
      cause: 'connect',
      error: `TLS with the SMTP server ${where} failed: ${oneLine(err.message ?? '')} (check EMAIL_USE_TLS / EMAIL_USE_SSL and EMAIL_PORT)`,
    };
  }
  // Lost mid-conversation, or a timeout while the message was on its way: the server may or may
  // not have it. The row goes back to pending and is retried with the same Message-ID.
  return {
    ok: false,
    kind: 'deferred',
    error: `connection to the SMTP server ${where} failed mid-conversation: ${oneLine(err.message ?? String(raw))}`,
  };
}

function oneLine(text: string): string {
  return redact(text.replace(/\s*\r?\n\s*/g, ' ').trim());
}

// ---------------------------------------------------------------------------------------------
// console: the message as a person reads it, between rulers, not a MIME dump.

function createConsoleTransport(sink: ConsoleSink): Transport {
  const print = (text: string) => {
    if ('line' in sink) for (const l of text.split('\n')) sink.line(l);
    else sink.write(text + '\n');
  };
  return {
    backend: 'console',
    // One at a time, so printed messages never interleave.
    concurrency: 1,
    async send(m) {
      const lines = [
        `-------- email (EMAIL_BACKEND=console: printed, not sent) --------`,
        `Message-ID: ${m.messageId}`,
        `From: ${m.from}`,
        `To: ${m.to}`,
        `Subject: ${m.subject}`,
        '',
        m.text.trimEnd(),
        `-------- end of email --------`,
      ];
      print(lines.join('\n'));
      return { ok: true };
    },
    async verify() {
      return { ok: true, detail: 'EMAIL_BACKEND=console: messages are printed, not sent' };
    },
    async close() {},
  };
}

// ---------------------------------------------------------------------------------------------
// file: one complete RFC 5322 message per file, as an SMTP server would have received it.

async function createFileTransport(dir: string): Promise<Transport> {
  const nodemailer = (await import('nodemailer')).default;
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const notWritable = (err: unknown) =>
    `cannot write email files to ${dir} (EMAIL_FILE_PATH): ${(err as Error).message}`;
  return {
    backend: 'file',
    concurrency: 1,
    async send(m) {
      try {
        const info = await composer.sendMail({
          from: m.from,
          to: m.to,
          subject: m.subject,
          text: m.text,
          html: m.html ?? undefined,
          messageId: m.messageId,
          headers: m.headers,
        });
        makePrivateDir(dir);
        const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
        const name = `${stamp}-outbox-${m.outboxId}.eml`;
        // Complete or absent, 0600, and never through a name someone else put there.
        writeNewPrivateFile(dir, name, info.message as Buffer);
        return { ok: true };
      } catch (err) {
        return { ok: false, kind: 'unreachable', cause: 'config', error: notWritable(err) };
      }
    },
    async verify() {
      try {
        makePrivateDir(dir);
        accessSync(dir, fsConstants.W_OK);
        return { ok: true, detail: `EMAIL_BACKEND=file: messages are written to ${dir}` };
      } catch (err) {
        return { ok: false, cause: 'config', error: notWritable(err) };
      }
    },
    async close() {},
  };
}
