/** Builds JWE fixtures at test time: with jose, with Python jwcrypto, and by editing a valid one. */

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CompactEncrypt, importJWK, type CompactJWEHeaderParameters, type JWEKeyManagementHeaderParameters, type JWK } from 'jose';

const JWCRYPTO_CLI = fileURLToPath(new URL('./jwcrypto_cli.py', import.meta.url));
/** Debian's python, where python3-jwcrypto is installed (the pyenv python3 on PATH lacks it). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

export async function joseEncrypt(
  jwk: JWK,
  plaintext: Uint8Array,
  header: Partial<CompactJWEHeaderParameters> = {},
  keyManagement: JWEKeyManagementHeaderParameters = {},
): Promise<string> {
  const alg = header.alg ?? jwk.alg!;
  return new CompactEncrypt(plaintext)
    .setProtectedHeader({ alg, enc: 'A256GCM', kid: jwk.kid, ...header })
    .setKeyManagementParameters(keyManagement)
    .encrypt(await importJWK(jwk, alg));
}

export async function jwcryptoEncrypt(jwk: JWK, plaintext: Uint8Array): Promise<string> {
  const header = JSON.stringify({ alg: jwk.alg, enc: 'A256GCM', kid: jwk.kid });
  return runJwcrypto(['encrypt', JSON.stringify(jwk), header], plaintext).then(String);
}

export function jwcryptoDecrypt(jwk: JWK, compact: string): Promise<Buffer> {
  return runJwcrypto(['decrypt', JSON.stringify(jwk)], Buffer.from(compact));
}

/** Runs testkit/jwcrypto_cli.py; key and data go through argv and pipes, never files. */
export function runJwcrypto(args: string[], stdin?: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      SYSTEM_PYTHON,
      [JWCRYPTO_CLI, ...args],
      { encoding: 'buffer', maxBuffer: 1 << 30 },
      (err, stdout, stderr) => (err ? reject(new Error(`jwcrypto: ${stderr.toString()}`, { cause: err })) : resolve(stdout)),
    );
    child.stdin!.end(stdin);
  });
}

/** Re-encodes the protected header of a compact JWE, keeping every other segment. */
export function withHeader(compact: string, edit: (header: Record<string, unknown>) => Record<string, unknown>): string {
  const [encoded, ...rest] = compact.split('.');
  const header = JSON.parse(Buffer.from(encoded!, 'base64url').toString()) as Record<string, unknown>;
  return [Buffer.from(JSON.stringify(edit(header))).toString('base64url'), ...rest].join('.');
}

/** Replaces segment `index` (0 header, 1 key, 2 iv, 3 ciphertext, 4 tag) by what `edit` returns. */
export function withSegment(compact: string, index: number, edit: (segment: string) => string): string {
  const segments = compact.split('.');
  segments[index] = edit(segments[index]!);
  return segments.join('.');
}

/** Changes the first character to another base64url character, so the bytes change but stay decodable. */
export function flipFirst(segment: string): string {
  return (segment[0] === 'A' ? 'B' : 'A') + segment.slice(1);
}
