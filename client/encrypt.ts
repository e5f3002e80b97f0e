import { CompactEncrypt, importJWK, type JWK } from 'jose';
import { fileTypeFromBuffer } from 'file-type';

/** Which published ingest key to encrypt to: an EC curve for ECDH-ES+A256KW, or RSA-OAEP-256. */
export const KEY_CHOICES = ['P-256', 'P-384', 'RSA-OAEP-256'] as const;
export type KeyChoice = (typeof KEY_CHOICES)[number];

/** The first published encryption key of the chosen kind. */
export function pickIngestKey(jwks: { keys: JWK[] }, choice: KeyChoice): JWK {
  const wanted = choice === 'RSA-OAEP-256' ? { alg: 'RSA-OAEP-256' } : { alg: 'ECDH-ES+A256KW', crv: choice };
  const key = jwks.keys.find((k) => k.use === 'enc' && k.alg === wanted.alg && (!('crv' in wanted) || k.crv === wanted.crv));
  if (!key) throw new Error(`the server publishes no ${choice} encryption key in GET /v1/keys`);
  return key;
}

/** JWE compact serialization (A256GCM) of `plaintext` for `key`; `cty` names the plaintext's media type. */
export async function encryptFor(key: JWK, plaintext: Uint8Array, cty?: string): Promise<string> {
  return new CompactEncrypt(plaintext)
    .setProtectedHeader({ alg: key.alg!, enc: 'A256GCM', kid: key.kid!, ...(cty ? { cty } : {}) })
    .encrypt(await importJWK(key, key.alg));
}

/** The file's media type from its bytes; undefined leaves it to the server's own sniffing. */
export async function detectType(bytes: Uint8Array): Promise<string | undefined> {
  return (await fileTypeFromBuffer(bytes))?.mime;
}
