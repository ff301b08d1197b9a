/**
 * TLS to the database, from the parameters of DATABASE_URL. PostgreSQL spells them the libpq way
 * (sslmode, sslrootcert, sslcert, sslkey); MySQL/MariaDB the mysql client way (ssl-mode or sslMode,
 * ssl-ca, ssl-cert, ssl-key). A parameter that starts with "ssl" and is not one of these is a
 * mistake (a typo would otherwise silently mean "no TLS"), so it is refused with 78.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';

/** disable: plain TCP; require: encrypted, certificate not checked; verify-ca: chain checked; verify-full: chain and host name. */
export type TlsMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';

export interface TlsSettings {
  mode: TlsMode;
  /** Files named in the URL; read when connecting. */
  rootCertFile?: string;
  certFile?: string;
  keyFile?: string;
}

const PG_MODES: Record<string, TlsMode> = {
  disable: 'disable',
  // libpq's allow/prefer try TLS and fall back to plain; node-pg cannot fall back, and a
  // fallback would give no protection anyway: both stay plain, as before.
  allow: 'disable',
  prefer: 'disable',
  require: 'require',
  'verify-ca': 'verify-ca',
  'verify-full': 'verify-full',
};

const MYSQL_MODES: Record<string, TlsMode> = {
  disabled: 'disable',
  preferred: 'disable',
  required: 'require',
  verify_ca: 'verify-ca',
  verify_identity: 'verify-full',
};

/** Older spellings that were accepted before: ?ssl=true / ?ssl=false. */
const SSL_FLAG: Record<string, TlsMode> = { true: 'require', '1': 'require', false: 'disable', '0': 'disable' };

const FILE_PARAMETERS: Record<'postgres' | 'mysql', Record<string, keyof Omit<TlsSettings, 'mode'>>> = {
  postgres: { sslrootcert: 'rootCertFile', sslcert: 'certFile', sslkey: 'keyFile' },
  mysql: { 'ssl-ca': 'rootCertFile', sslca: 'rootCertFile', 'ssl-cert': 'certFile', sslcert: 'certFile', 'ssl-key': 'keyFile', sslkey: 'keyFile' },
};

const MODE_PARAMETERS = { postgres: ['sslmode'], mysql: ['ssl-mode', 'sslmode'] };

export function parseTlsParameters(params: URLSearchParams, dialect: 'postgres' | 'mysql'): TlsSettings {
  const settings: TlsSettings = { mode: 'disable' };
  const modes = dialect === 'postgres' ? PG_MODES : MYSQL_MODES;
  const files = FILE_PARAMETERS[dialect];
  for (const [rawName, value] of params) {
    const name = rawName.toLowerCase();
    if (!name.startsWith('ssl')) continue;
    if (MODE_PARAMETERS[dialect].includes(name)) {
      const mode = modes[value.toLowerCase()];
      if (!mode) throw unknownValue(rawName, value, Object.keys(modes));
      settings.mode = mode;
    } else if (name === 'ssl') {
      const mode = SSL_FLAG[value.toLowerCase()];
      if (!mode) throw unknownValue(rawName, value, Object.keys(SSL_FLAG));
      settings.mode = mode;
    } else if (files[name]) {
      if (!value) throw new ConfigError(`DATABASE_URL parameter ${rawName} is empty`, 'give the path of a PEM file');
      settings[files[name]] = value;
    } else {
      const known = [...MODE_PARAMETERS[dialect], ...Object.keys(files)].join(', ');
      throw new ConfigError(
        `DATABASE_URL has an unknown TLS parameter "${rawName}"`,
        `for ${dialect === 'postgres' ? 'PostgreSQL' : 'MySQL/MariaDB'} use ${known}`,
      );
    }
  }
  if (settings.mode === 'disable' && (settings.rootCertFile || settings.certFile || settings.keyFile)) {
    // A certificate named without a mode means the operator wants TLS: verify it rather than ignore it.
    settings.mode = settings.rootCertFile ? 'verify-full' : 'require';
  }
  return settings;
}

function unknownValue(name: string, value: string, allowed: string[]): ConfigError {
  return new ConfigError(`DATABASE_URL ${name}="${value}" is not a TLS mode ontime knows`, `use one of: ${allowed.join(', ')}`);
}

/** Node TLS options for pg and mysql2 (both pass `ssl` to tls.connect). */
export function driverTlsOptions(tls: TlsSettings | undefined): Record<string, unknown> | undefined {
  if (!tls || tls.mode === 'disable') return undefined;
  const options: Record<string, unknown> = { rejectUnauthorized: tls.mode !== 'require' };
  // mysql2 compares the host name only when asked (pg always does when rejectUnauthorized is set).
  options.verifyIdentity = tls.mode === 'verify-full';
  if (tls.rootCertFile) options.ca = readPem(tls.rootCertFile, 'the CA certificate');
  if (tls.certFile) options.cert = readPem(tls.certFile, 'the client certificate');
  if (tls.keyFile) options.key = readPem(tls.keyFile, 'the client key');
  // verify-ca: the chain must lead to a trusted CA, the name in the certificate is not compared.
  if (tls.mode === 'verify-ca') options.checkServerIdentity = () => undefined;
  return options;
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${what} ${path} named in DATABASE_URL: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
