/**
 * TLS to the database. PostgreSQL: a small fake server on 127.0.0.1 that answers the SSLRequest,
 * upgrades to TLS with a certificate of the test's own CA, and records whether the client went on
 * to send its startup message (and so, next, its password). MySQL/MariaDB: the real test server,
 * which offers no TLS, must be refused when ssl-mode asks for it.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { parseDatabaseUrl } from '../../src/config.js';
import { connect } from '../../src/db/connect.js';
import { ExitCode, OntimeError } from '../../src/errors.js';
import { makeTestCa, type TestCa, type TestCertificate } from '../helpers/tls.js';
import { requestedDatabases } from '../helpers/databases.js';

const SSL_REQUEST = 80877103;

interface FakePostgres {
  port: number;
  /** Startup messages received over TLS (the client trusted the server). */
  startupsOverTls: number;
  /** Startup messages received in clear. */
  startupsInClear: number;
  close(): Promise<void>;
}

/** Answers SSLRequest with 'S' and the given certificate; then refuses any login with 28P01. */
async function startFakePostgres(certificate: TestCertificate): Promise<FakePostgres> {
  const state = { startupsOverTls: 0, startupsInClear: 0 };
  const sockets = new Set<Socket>();
  const refuse = (socket: Socket) => {
    const fields = Buffer.from('SFATAL\0C28P01\0Mpassword authentication failed\0\0');
    const head = Buffer.alloc(5);
    head.write('E');
    head.writeInt32BE(fields.length + 4, 1);
    socket.end(Buffer.concat([head, fields]));
  };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('data', (first) => {
      if (first.length >= 8 && first.readInt32BE(4) === SSL_REQUEST) {
        socket.write('S');
        const secure = new TLSSocket(socket, { isServer: true, key: certificate.key, cert: certificate.cert });
        secure.on('error', () => undefined);
        secure.once('data', () => {
          state.startupsOverTls += 1;
          refuse(secure);
        });
      } else {
        state.startupsInClear += 1;
        refuse(socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    get startupsOverTls() {
      return state.startupsOverTls;
    },
    get startupsInClear() {
      return state.startupsInClear;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function connectError(url: string): Promise<OntimeError> {
  try {
    const knex = await connect(parseDatabaseUrl(url));
    await knex.destroy();
  } catch (err) {
    assert.ok(err instanceof OntimeError, `expected a classified error, got ${String(err)}`);
    return err;
  }
  assert.fail('connected, but the server refuses every login');
}

describe('PostgreSQL TLS (fake server with a test CA)', () => {
  let ca: TestCa;
  const servers: Record<string, FakePostgres> = {};
  before(async () => {
    ca = makeTestCa();
    servers.trusted = await startFakePostgres(ca.issue('pg-ip', 'IP:127.0.0.1'));
    servers.otherName = await startFakePostgres(ca.issue('pg-other', 'DNS:db.other.test'));
    servers.selfSigned = await startFakePostgres(ca.selfSigned());
  });
  after(async () => {
    for (const s of Object.values(servers)) await s.close();
  });
  const url = (server: FakePostgres, query: string) => `postgres://app:s3cret-pw@127.0.0.1:${server.port}/prod?${query}`;

  test('verify-full refuses an untrusted self-signed certificate before sending anything (78)', async () => {
    const err = await connectError(url(servers.selfSigned!, 'sslmode=verify-full'));
    assert.equal(err.exitCode, ExitCode.config);
    assert.equal(servers.selfSigned!.startupsOverTls + servers.selfSigned!.startupsInClear, 0);
  });

  test('verify-full with sslrootcert accepts the CA-signed certificate for 127.0.0.1', async () => {
    const before = servers.trusted!.startupsOverTls;
    const err = await connectError(url(servers.trusted!, `sslmode=verify-full&sslrootcert=${ca.certFile}`));
    assert.match(err.message, /password authentication failed/);
    assert.equal(servers.trusted!.startupsOverTls, before + 1);
  });

  test('verify-full refuses a CA-signed certificate for another host name; verify-ca accepts it', async () => {
    const full = await connectError(url(servers.otherName!, `sslmode=verify-full&sslrootcert=${ca.certFile}`));
    assert.equal(full.exitCode, ExitCode.config);
    assert.equal(servers.otherName!.startupsOverTls, 0);
    await connectError(url(servers.otherName!, `sslmode=verify-ca&sslrootcert=${ca.certFile}`));
    assert.equal(servers.otherName!.startupsOverTls, 1);
  });

  test('verify-ca still refuses a certificate the CA did not sign', async () => {
    const err = await connectError(url(servers.selfSigned!, `sslmode=verify-ca&sslrootcert=${ca.certFile}`));
    assert.equal(err.exitCode, ExitCode.config);
    assert.equal(servers.selfSigned!.startupsOverTls, 0);
  });

  test('require encrypts without verifying', async () => {
    const server = await startFakePostgres(ca.selfSigned());
    try {
      await connectError(url(server, 'sslmode=require'));
      assert.equal(server.startupsOverTls, 1);
      assert.equal(server.startupsInClear, 0);
    } finally {
      await server.close();
    }
  });

  test('an unreadable sslrootcert is 78', async () => {
    const err = await connectError(url(servers.trusted!, 'sslmode=verify-full&sslrootcert=/nonexistent/ca.pem'));
    assert.equal(err.exitCode, ExitCode.config);
  });
});

describe('TLS parameters in DATABASE_URL', () => {
  for (const query of ['sslmode=verify_full', 'sslmdoe=require', 'ssl-mode=REQUIRED', 'sslfactory=x']) {
    test(`postgres ?${query} → 78`, () => {
      assert.throws(() => parseDatabaseUrl(`postgres://u@h/db?${query}`), (e: OntimeError) => e.exitCode === ExitCode.config);
    });
  }
  for (const query of ['ssl-mode=VERIFY', 'sslmod=REQUIRED', 'sslrootcert=/x.pem&sslmode=require']) {
    test(`mysql ?${query} → 78`, () => {
      assert.throws(() => parseDatabaseUrl(`mysql://u@h/db?${query}`), (e: OntimeError) => e.exitCode === ExitCode.config);
    });
  }
  test('mysql ssl-mode and sslMode spellings map to the modes', () => {
    assert.equal(parseDatabaseUrl('mysql://u@h/db?ssl-mode=REQUIRED').tls?.mode, 'require');
    assert.equal(parseDatabaseUrl('mysql://u@h/db?sslMode=VERIFY_CA').tls?.mode, 'verify-ca');
    assert.equal(parseDatabaseUrl('mariadb://u@h/db?sslMode=VERIFY_IDENTITY').tls?.mode, 'verify-full');
    assert.equal(parseDatabaseUrl('postgres://u@h/db?sslmode=prefer').tls?.mode, 'disable');
  });
});

describe('MySQL/MariaDB TLS (real server without TLS)', { skip: !requestedDatabases().includes('mysql') }, () => {
  const base = process.env.ONTIME_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
  const server = new URL(base);
  for (const query of ['ssl-mode=REQUIRED', 'sslMode=VERIFY_CA', 'sslMode=VERIFY_IDENTITY']) {
    test(`?${query}: a server without TLS is refused, not used in clear (78)`, async (t) => {
      const plain = await connect(parseDatabaseUrl(base)).catch(() => null);
      if (!plain) return t.skip('MariaDB test server not reachable');
      const offersTls = ((await plain.raw("SHOW VARIABLES LIKE 'have_ssl'"))[0] as { Value: string }[])[0]?.Value === 'YES';
      await plain.destroy();
      if (offersTls) return t.skip('this MariaDB server offers TLS');
      const err = await connectError(`mysql://${server.username}@${server.host}/test?${query}`);
      assert.equal(err.exitCode, ExitCode.config);
      assert.match(err.message, /does not support secure connection/);
    });
  }
});
