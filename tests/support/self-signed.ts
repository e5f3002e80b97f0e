/** A throwaway self-signed certificate for `localhost` (openssl), for an https OpenID provider in tests. */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SelfSigned {
  key: string;
  cert: string;
  /** The PEM file, for NODE_EXTRA_CA_CERTS of a service process. */
  certFile: string;
  /** base64 SHA-256 of the public key (SPKI), for Chromium's --ignore-certificate-errors-spki-list: this key only. */
  spki: string;
}

export async function selfSigned(dir: string): Promise<SelfSigned> {
  const keyFile = path.join(dir, 'idp.key');
  const certFile = path.join(dir, 'idp.crt');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost']);
  const spkiDer = (await run('openssl', ['pkey', '-in', keyFile, '-pubout', '-outform', 'DER'], { encoding: 'buffer' })).stdout;
  return { key: await readFile(keyFile, 'utf8'), cert: await readFile(certFile, 'utf8'), certFile, spki: createHash('sha256').update(spkiDer).digest('base64') };
}
