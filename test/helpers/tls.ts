/**
 * A throw-away certificate authority for TLS tests, made with openssl in a temporary directory:
 * a CA, server certificates it signs (for 127.0.0.1 or another name), and a self-signed one no
 * one trusts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  keyFile: string;
  certFile: string;
  key: string;
  cert: string;
}

export interface TestCa extends TestCertificate {
  dir: string;
  /** A server certificate signed by this CA whose subjectAltName is `san` (e.g. IP:127.0.0.1). */
  issue(name: string, san: string): TestCertificate;
  /** A self-signed certificate for 127.0.0.1 that this CA did not sign. */
  selfSigned(): TestCertificate;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'ignore' });
}

function load(dir: string, name: string): TestCertificate {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.pem`);
  return { keyFile, certFile, key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
}

export function makeTestCa(): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'ontime-ca-'));
  const newKey = ['-newkey', 'rsa:2048', '-nodes', '-days', '2'];
  openssl(['req', '-x509', ...newKey, '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=ontime test CA'], dir);
  return {
    dir,
    ...load(dir, 'ca'),
    issue(name, san) {
      openssl(['req', ...newKey.slice(0, 3), '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
      const ext = join(dir, `${name}.ext`);
      execFileSync('sh', ['-c', `printf 'subjectAltName=${san}\\n' > '${ext}'`]);
      openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', `${name}.pem`], dir);
      return load(dir, name);
    },
    selfSigned() {
      openssl(['req', '-x509', ...newKey, '-keyout', 'self.key', '-out', 'self.pem', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], dir);
      return load(dir, 'self');
    },
  };
}
