import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/kernel/errors.ts';
import { INGEST_KEYS, type IngestKeyRing } from '../../src/keys/ingest-keys.ts';
import { loadKey } from '../../src/keys/key-source.ts';
import { checkProtectedHeader, decryptPart, type DecryptOptions } from '../../src/crypto/jwe.ts';
import { flipFirst, joseEncrypt, jwcryptoEncrypt, withHeader, withSegment } from '../../testkit/jwe-fixtures.ts';

let dataDir: string;
let ring: IngestKeyRing;
const published: Record<'P-256' | 'P-384' | 'RSA', JWK> = {} as never;
let valid: string;
const payload = Buffer.from('%PDF-1.7 test part');

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'vs-jwe-'));
  ring = await loadKey({ devDataDir: dataDir }, INGEST_KEYS);
  for (const jwk of ring.publicJwks().keys) published[jwk.kty === 'RSA' ? 'RSA' : (jwk.crv as 'P-256' | 'P-384')] = jwk;
  valid = await joseEncrypt(published['P-256'], payload, { cty: 'application/pdf' });
});

afterAll(() => rm(dataDir, { recursive: true, force: true }));

async function refusal(input: string | Buffer, opts?: DecryptOptions): Promise<string | undefined> {
  const err: unknown = await decryptPart(input, ring, opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe('jwe_invalid');
  expect((err as AppError).status).toBe(400);
  // Every refusal has its German text too, and it is not the English one.
  expect((err as AppError).texts?.de).toEqual(expect.any(String));
  expect((err as AppError).texts?.de).not.toBe((err as AppError).detail);
  return (err as AppError).detail;
}

/** A JWE really encrypted to a foreign key, claiming the kid of our P-256 key. */
async function foreignEpk(options: { crv: string }): Promise<string> {
  const { publicKey } = await generateKeyPair('ECDH-ES+A256KW', { ...options, extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), alg: 'ECDH-ES+A256KW', kid: published['P-256'].kid };
  return joseEncrypt(jwk, payload);
}

describe('decryptPart: accepted', () => {
  for (const name of ['P-256', 'P-384', 'RSA'] as const) {
    it(`decrypts a ${name} JWE made by jose`, async () => {
      const jwk = published[name];
      const part = await decryptPart(await joseEncrypt(jwk, payload, { cty: 'image/jpeg' }), ring);
      expect(part.plaintext.equals(payload)).toBe(true);
      expect(part.header).toMatchObject({ alg: jwk.alg, enc: 'A256GCM', kid: jwk.kid, cty: 'image/jpeg' });
    });

    it(`decrypts a ${name} JWE made by Python jwcrypto from the published JWKS`, async () => {
      const part = await decryptPart(await jwcryptoEncrypt(published[name], payload), ring);
      expect(part.plaintext.equals(payload)).toBe(true);
      expect(part.header.kid).toBe(published[name].kid);
    });
  }

  it('accepts the compact form as bytes and uses apu/apv in the key derivation', async () => {
    const apu = Buffer.from('app 1.2'), apv = Buffer.from('vs-capture');
    const compact = await joseEncrypt(published['P-384'], payload);
    const withParties = await joseEncrypt(published['P-384'], payload, {}, { apu, apv });
    expect((await decryptPart(Buffer.from(compact), ring)).plaintext.equals(payload)).toBe(true);
    expect((await decryptPart(withParties, ring)).plaintext.equals(payload)).toBe(true);
  });

  it('decrypts a payload spanning several decoding chunks byte for byte', async () => {
    const large = randomBytes(9 * 2 ** 20 + 7);
    const part = await decryptPart(await joseEncrypt(published['P-256'], large), ring);
    expect(part.plaintext.equals(large)).toBe(true);
  });
});

describe('decryptPart: refused before any crypto', () => {
  const header = (edit: Record<string, unknown>) => () => withHeader(valid, (h) => ({ ...h, ...edit }));
  const cases: [string, () => string | Promise<string>, RegExp][] = [
    ['alg dir', header({ alg: 'dir' }), /^alg 'dir' is not allowed; use ECDH-ES\+A256KW or RSA-OAEP-256$/],
    ['alg RSA1_5', header({ alg: 'RSA1_5' }), /^alg 'RSA1_5' is not allowed/],
    ['alg PBES2-HS256+A128KW', header({ alg: 'PBES2-HS256+A128KW', p2c: 1000, p2s: 'AAAA' }), /^alg 'PBES2-HS256\+A128KW' is not allowed/],
    ['alg ECDH-ES (direct)', header({ alg: 'ECDH-ES' }), /^alg 'ECDH-ES' is not allowed/],
    ['alg missing', header({ alg: undefined }), /^alg missing is not allowed/],
    ['enc A128GCM', header({ enc: 'A128GCM' }), /^enc 'A128GCM' is not allowed; use A256GCM$/],
    ['enc A256CBC-HS512', header({ enc: 'A256CBC-HS512' }), /^enc 'A256CBC-HS512' is not allowed/],
    ['zip DEF', header({ zip: 'DEF' }), /^zip 'DEF' is not allowed/],
    ['crit', header({ crit: ['exp'], exp: 1 }), /^crit \["exp"\] is not supported/],
    ['unknown kid', header({ kid: 'old-key' }), /^kid 'old-key' is unknown; fetch the current keys from GET \/v1\/keys$/],
    ['missing kid', header({ kid: undefined }), /^kid missing/],
    ['X25519 epk', () => foreignEpk({ crv: 'X25519' }), /^epk 'OKP'\/'X25519' is not allowed \(BSI TR-02102\)/],
    ['P-521 epk', () => foreignEpk({ crv: 'P-521' }), /^epk 'EC'\/'P-521' is not allowed/],
    ['epk curve mismatch', () => foreignEpk({ crv: 'P-384' }), /^epk curve P-384 does not match key '.+' \(P-256\); generate the epk on its curve$/],
    ['epk missing', header({ epk: undefined }), /^epk missing/],
    ['epk off the curve', header({ epk: { kty: 'EC', crv: 'P-256', x: 'AQ', y: 'AQ' } }), /^epk is not a valid P-256 public key$/],
    ['header not JSON', () => withSegment(valid, 0, () => Buffer.from('{alg:').toString('base64url')), /^protected header is not UTF-8 JSON$/],
    ['header a JSON array', () => withSegment(valid, 0, () => Buffer.from('[]').toString('base64url')), /^protected header is not a JSON object$/],
    ['4 segments', () => valid.split('.').slice(0, 4).join('.'), /expected 5 segments separated by '\.', got 4$/],
    ['6 segments', () => `${valid}.AAAA`, /got more than 5$/],
    ['non-base64url header', () => withSegment(valid, 0, (s) => `!${s}`), /^protected header is not base64url$/],
    ['non-base64url ciphertext', () => withSegment(valid, 3, (s) => `+${s.slice(1)}`), /^ciphertext is not base64url$/],
    ['ciphertext with a stray character', () => withSegment(valid, 3, (s) => `${s.slice(0, 5)}!${s.slice(6)}`), /^ciphertext is not base64url$/],
    ['ciphertext with inner padding', () => withSegment(valid, 3, (s) => `${s.slice(0, 4)}==${s.slice(6)}`), /^ciphertext is not base64url$/],
    ['ciphertext with a slash', () => withSegment(valid, 3, (s) => `${s.slice(0, 5)}/${s.slice(6)}`), /^ciphertext is not base64url$/],
    ['truncated', () => valid.slice(0, -10), /^tag must be 128 bits, got 72$/],
    ['short iv', () => withSegment(valid, 2, (s) => s.slice(0, 8)), /^iv must be 96 bits, got 48$/],
  ];

  it.each(cases)('%s', async (_name, build, reason) => {
    expect(await refusal(await build())).toMatch(reason);
  });

  it('refuses a kid whose key is for another algorithm', async () => {
    const detail = await refusal(withHeader(valid, (h) => ({ ...h, alg: 'RSA-OAEP-256' })));
    expect(detail).toMatch(/^key '.+' is for ECDH-ES\+A256KW, not RSA-OAEP-256; use the alg GET \/v1\/keys names for it$/);
  });

  it('refuses an oversized part by its length alone', async () => {
    expect(await refusal(valid, { maxBytes: valid.length - 1 })).toMatch(/^the encrypted part has \d+ bytes; at most \d+ are accepted$/);
    expect(await refusal('x'.repeat(2000), { maxBytes: 1000 })).toMatch(/at most 1000 are accepted/);
  });
});

describe('decryptPart: refused by authentication', () => {
  const failed = /^decryption failed: the part was altered or encrypted for another key; encrypt it again to a key from GET \/v1\/keys$/;
  const cases: [string, () => string | Promise<string>][] = [
    ['tampered ciphertext', () => withSegment(valid, 3, flipFirst)],
    ['tampered tag', () => withSegment(valid, 4, flipFirst)],
    ['tampered protected header', () => withHeader(valid, (h) => ({ ...h, cty: 'text/html' }))],
    ['tampered encrypted key', () => withSegment(valid, 1, flipFirst)],
    ['tampered RSA encrypted key', async () => withSegment(await joseEncrypt(published.RSA, payload), 1, flipFirst)],
    ['tampered iv', () => withSegment(valid, 2, flipFirst)],
    ['encrypted for another key with our kid', async () => {
      const { publicKey } = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256', extractable: true });
      return joseEncrypt({ ...(await exportJWK(publicKey)), alg: 'ECDH-ES+A256KW', kid: published['P-256'].kid }, payload);
    }],
  ];

  it.each(cases)('%s', async (_name, build) => {
    expect(await refusal(await build())).toMatch(failed);
  });
});

describe('checkProtectedHeader', () => {
  it('applies the same allow-list to a header segment alone', () => {
    expect(checkProtectedHeader(valid.split('.')[0]!)).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', cty: 'application/pdf' });
    const rsa15 = withHeader(valid, (h) => ({ ...h, alg: 'RSA1_5' })).split('.')[0]!;
    expect(() => checkProtectedHeader(rsa15)).toThrow(/^alg 'RSA1_5' is not allowed/);
  });
});
