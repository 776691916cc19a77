/**
 * A private certificate authority for the local stack's TLS mode, generated at start with the
 * machine's `openssl` (as a managed provider does: a CA the client does not trust by default).
 *
 * Files (all in `<stack dir>/tls`):
 * - `ca.crt`          the stack's CA: what `sslrootcert=` / Prisma 6's `sslcert=` must name
 * - `server.crt/.key` PgBouncer's certificate, signed by the CA, valid for IP 127.0.0.1 only
 *                     (so a URL on `localhost` is a real hostname mismatch)
 * - `client.crt/.key` a client certificate (CN = the app user), signed by the CA
 * - `client.p12`      the same identity as PKCS#12, for Prisma 6's `sslidentity` / `sslpassword`
 * - `other-ca.crt`    an unrelated CA: "verified against the wrong CA" is a real failure too
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface StackTlsFiles {
  readonly dir: string;
  readonly caFile: string;
  readonly otherCaFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** PKCS#12 client identity (certificate, key and CA chain), encrypted with `clientIdentityPassword`. */
  readonly clientIdentityFile: string;
  readonly clientIdentityPassword: string;
}

/** One clear error when the machine has no `openssl` (Debian: `apt-get install openssl`). */
function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new Error('local stack (tls): `openssl` is not installed (Debian/Ubuntu: apt-get install openssl)');
    throw new Error(`local stack (tls): openssl ${args[0]} failed: ${e.stderr?.toString().trim() ?? e.message}`);
  }
}

/** EC P-256 keys: generated in milliseconds, unlike RSA. */
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const DAYS = '2';

function selfSignedCa(cwd: string, name: string, subject: string): void {
  openssl(
    [
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      DAYS,
      '-subj',
      subject,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    cwd,
  );
}

function signedLeaf(cwd: string, name: string, subject: string, extensions: string): void {
  openssl(['req', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], cwd);
  writeFileSync(path.join(cwd, `${name}.ext`), extensions);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      DAYS,
      '-extfile',
      `${name}.ext`,
    ],
    cwd,
  );
}

/** Writes a fresh CA, server and client certificates into `<baseDir>/tls`. `own` hands each file to the stack's user. */
export function generateStackTls(baseDir: string, clientUser: string, own: (file: string) => void = () => {}): StackTlsFiles {
  const dir = path.join(baseDir, 'tls');
  mkdirSync(dir, { recursive: true });
  selfSignedCa(dir, 'ca', '/CN=pgpool local stack CA');
  selfSignedCa(dir, 'other-ca', '/CN=pgpool unrelated CA');
  signedLeaf(
    dir,
    'server',
    '/CN=127.0.0.1',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n',
  );
  signedLeaf(
    dir,
    'client',
    `/CN=${clientUser}`,
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n',
  );
  const clientIdentityPassword = randomBytes(9).toString('base64url');
  openssl(
    [
      'pkcs12',
      '-export',
      '-inkey',
      'client.key',
      '-in',
      'client.crt',
      '-certfile',
      'ca.crt',
      '-out',
      'client.p12',
      '-passout',
      `pass:${clientIdentityPassword}`,
    ],
    dir,
  );
  const file = (name: string) => path.join(dir, name);
  for (const name of ['', 'ca.crt', 'other-ca.crt', 'server.crt', 'server.key', 'client.crt', 'client.key', 'client.p12']) own(file(name));
  return {
    dir,
    caFile: file('ca.crt'),
    otherCaFile: file('other-ca.crt'),
    serverCertFile: file('server.crt'),
    serverKeyFile: file('server.key'),
    clientCertFile: file('client.crt'),
    clientKeyFile: file('client.key'),
    clientIdentityFile: file('client.p12'),
    clientIdentityPassword,
  };
}
