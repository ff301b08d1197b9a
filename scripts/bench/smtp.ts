/** A loopback SMTP server inside the benchmark process that accepts and counts every message. */
import type { AddressInfo } from 'node:net';

export interface LoopbackSmtp {
  port: number;
  /** Messages accepted since start. */
  received(): number;
  close(): Promise<void>;
}

export async function startLoopbackSmtp(): Promise<LoopbackSmtp> {
  const { SMTPServer } = await import('smtp-server');
  let received = 0;
  const server = new SMTPServer({
    disableReverseLookup: true,
    authOptional: true,
    // Plain loopback: no STARTTLS offer, so the client does not negotiate TLS it was not asked for.
    disabledCommands: ['STARTTLS'],
    logger: false,
    maxClients: 64,
    onData(stream, _session, callback) {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        received += 1;
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    received: () => received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
