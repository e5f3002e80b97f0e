/**
 * JWE in the browser (jose on WebCrypto): ECDH-ES+A256KW on P-256 with A256GCM, the BSI profile the
 * service accepts, to the ingest key GET /v1/keys publishes; `cty` names the plaintext's media type.
 */
import { CompactEncrypt, importJWK, type JWK } from 'jose';

export const INGEST_PROFILE = { alg: 'ECDH-ES+A256KW', crv: 'P-256', enc: 'A256GCM' } as const;

export function pickIngestKey(jwks: { keys: JWK[] }): JWK {
  const key = jwks.keys.find((k) => k.use === 'enc' && k.alg === INGEST_PROFILE.alg && k.crv === INGEST_PROFILE.crv);
  if (!key) throw new Error('GET /v1/keys publishes no P-256 encryption key');
  return key;
}

export async function encryptFor(key: JWK, plaintext: Uint8Array, cty?: string): Promise<string> {
  return new CompactEncrypt(plaintext)
    .setProtectedHeader({ alg: INGEST_PROFILE.alg, enc: INGEST_PROFILE.enc, kid: key.kid!, ...(cty ? { cty } : {}) })
    .encrypt(await importJWK(key, INGEST_PROFILE.alg));
}
