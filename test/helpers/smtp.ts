/**
 * A real SMTP server in the test process (smtp-server), on 127.0.0.1 and a port of the system's
 * choosing. It records every accepted message and can be told to answer RCPT TO or DATA with a
 * given code, or to drop the connection, so tests see exactly what the mail layer does with each.
 *
 *   const smtp = await startSmtpServer();
 *   env = { EMAIL_HOST: '127.0.0.1', EMAIL_PORT: String(smtp.port) };
 *   smtp.respondWith(451);             // every RCPT TO answered 451 until respondWith(null)
 *   smtp.respondWith(550, 'data');     // answer DATA instead
 *   smtp.messages[0].messageId / .to / .subject / .text
 *   await smtp.close();
 *
 * Any login is accepted except the password `wrong` (535).
 */
import { createServer } from 'node:net';
import { after, before, beforeEach } from 'node:test';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

export interface ReceivedMessage {
  /** MAIL FROM */
  from: string;
  /** RCPT TO, every recipient */
  to: string[];
  /** The whole message as received (headers and body, CRLF line ends). */
  raw: string;
  headers: Record<string, string>;
  messageId: string | undefined;
  subject: string | undefined;
  /** The raw body with quoted-printable soft breaks and escapes undone: enough to find a link. */
  text: string;
  /** Whether the session was encrypted (STARTTLS) when the message came. */
  secure?: boolean;
}

export interface ReceivedLogin {
  user: string;
  /** False: the password crossed the wire in clear. */
  secure: boolean;
}

export type RejectStage = 'rcpt' | 'data';

export interface SmtpHookContext {
  stage: RejectStage;
  recipient?: string;
  session: SMTPServerSession;
}

/** Return a code (and optional text) to reject, `'drop'` to cut the connection, or nothing to accept. */
export type SmtpHook = (ctx: SmtpHookContext) => { code: number; message?: string } | 'drop' | undefined | void;

export interface TestSmtpServer {
  port: number;
  host: string;
  messages: ReceivedMessage[];
  /** Every AUTH attempt, with whether the session was encrypted at the time. */
  logins: ReceivedLogin[];
  /** Connections opened so far (a dry run must open none). */
  connections: number;
  /** Answer every RCPT TO (or DATA) with `code` from now on; null accepts again. */
  respondWith(code: number | null, stage?: RejectStage, message?: string): void;
  /** Full control: decide per recipient and stage. Replaces respondWith's rule; null removes it. */
  setHook(hook: SmtpHook | null): void;
  /** Env for ontime pointing at this server. */
  env(): Record<string, string>;
  close(): Promise<void>;
}

function rejection(code: number, message?: string): Error {
  const err = new Error(message ?? (code >= 500 ? `${code} 5.1.1 Mailbox unavailable` : `${code} 4.7.1 Try again later`));
  (err as Error & { responseCode: number }).responseCode = code;
  return err;
}

export function parseMessage(raw: string, from: string, to: string[]): ReceivedMessage {
  const split = raw.indexOf('\r\n\r\n');
  const head = split >= 0 ? raw.slice(0, split) : raw;
  const body = split >= 0 ? raw.slice(split + 4) : '';
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const text = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  return { from, to, raw, headers, messageId: headers['message-id'], subject: headers.subject, text };
}

/** `tls`: offer STARTTLS with this key and certificate (by default STARTTLS is not offered). */
export async function startSmtpServer(options: { port?: number; tls?: { key: string; cert: string } } = {}): Promise<TestSmtpServer> {
  let hook: SmtpHook | null = null;
  const messages: ReceivedMessage[] = [];
  const logins: ReceivedLogin[] = [];
  const state = { connections: 0 };

  const decide = (ctx: SmtpHookContext) => (hook ? hook(ctx) : undefined);

  const server = new SMTPServer({
    disableReverseLookup: true,
    authOptional: true,
    hideSTARTTLS: !options.tls,
    // Without `tls` the server has no STARTTLS at all (smtp-server would otherwise accept a hidden
    // STARTTLS with its built-in certificate).
    disabledCommands: options.tls ? [] : ['STARTTLS'],
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),
    logger: false,
    closeTimeout: 1000,
    // Logins over plain TCP are fine on 127.0.0.1; the password "wrong" is refused with 535.
    allowInsecureAuth: true,
    onAuth(auth, session, callback) {
      logins.push({ user: auth.username ?? '', secure: Boolean((session as { secure?: boolean }).secure) });
      if (auth.password === 'wrong') return callback(new Error('535 5.7.8 Authentication credentials invalid'));
      callback(null, { user: auth.username });
    },
    onConnect(_session, callback) {
      state.connections += 1;
      callback();
    },
    onRcptTo(address, session, callback) {
      const verdict = decide({ stage: 'rcpt', recipient: address.address, session });
      if (verdict === 'drop') {
        dropConnection(server, session);
        return;
      }
      if (verdict) return callback(rejection(verdict.code, verdict.message));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const verdict = decide({ stage: 'data', session });
        if (verdict === 'drop') {
          dropConnection(server, session);
          return;
        }
        if (verdict) return callback(rejection(verdict.code, verdict.message));
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        const to = session.envelope.rcptTo.map((r) => r.address);
        const message = parseMessage(Buffer.concat(chunks).toString('utf8'), from, to);
        message.secure = Boolean((session as { secure?: boolean }).secure);
        messages.push(message);
        callback();
      });
    },
  });
  server.on('error', () => undefined);

  const host = '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = (server as unknown as { server: import('node:net').Server }).server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    port,
    host,
    messages,
    logins,
    get connections() {
      return state.connections;
    },
    respondWith(code, stage = 'rcpt', message) {
      hook = code === null ? null : (ctx) => (ctx.stage === stage ? { code, message } : undefined);
    },
    setHook(h) {
      hook = h;
    },
    env() {
      return { EMAIL_HOST: host, EMAIL_PORT: String(port), DEFAULT_FROM_EMAIL: 'Case Office <cases@ontime.example>' };
    },
    close() {
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Cut one session's TCP connection, as a server that crashes mid-conversation would. */
function dropConnection(server: SMTPServer, session: SMTPServerSession): void {
  const connections = (server as unknown as { connections: Set<{ id: string; _socket: { destroy(): void } }> }).connections;
  for (const c of connections ?? []) {
    if (c.id === session.id) c._socket.destroy();
  }
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
  const address = srv.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/**
 * One SMTP server for the suite it is called in (started before, closed after its tests), emptied
 * and accepting again before each test. Returns a getter, valid inside tests and hooks.
 */
export function useSmtpServer(): () => TestSmtpServer {
  let smtp: TestSmtpServer | undefined;
  before(async () => {
    smtp = await startSmtpServer();
  });
  after(async () => {
    await smtp?.close();
  });
  beforeEach(() => {
    smtp!.respondWith(null);
    smtp!.messages.length = 0;
  });
  return () => smtp!;
}
