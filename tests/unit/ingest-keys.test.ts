import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  composeJwks,
  generateIngestJwks,
  IngestKeyRing,
  INGEST_KEYS,
} from '../../src/keys/ingest-keys.ts';
import { loadKey } from '../../src/keys/key-source.ts';
import { decryptPart } from '../../src/crypto/jwe.ts';
import { joseEncrypt } from '../../testkit/jwe-fixtures.ts';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'vs-keys-'));
});

afterAll(() => rm(scratch, { recursive: true, force: true }));

describe('development key ring', () => {
  it('is generated once with private file modes and reloaded the same', async () => {
    const dataDir = join(scratch, 'data');
    const first = await loadKey({ devDataDir: dataDir }, INGEST_KEYS);
    const file = join(dataDir, 'keys', 'ingest.jwks.json');
    const written = await readFile(file, 'utf8');
    const second = await loadKey({ devDataDir: dataDir }, INGEST_KEYS);

    expect(second.publicJwks()).toEqual(first.publicJwks());
    expect(await readFile(file, 'utf8')).toBe(written);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dataDir, 'keys'))).mode & 0o777).toBe(0o700);
  });

  it('holds P-256, P-384 and RSA-3072 keys for the allowed algorithms', async () => {
    const { keys } = (await loadKey({ devDataDir: join(scratch, 'kinds') }, INGEST_KEYS)).publicJwks();
    const kinds = keys.map(({ kty, crv, alg, use }) => `${kty}/${crv ?? '-'}/${alg}/${use}`);
    expect(kinds.sort()).toEqual(['EC/P-256/ECDH-ES+A256KW/enc', 'EC/P-384/ECDH-ES+A256KW/enc', 'RSA/-/RSA-OAEP-256/enc']);
    expect(Buffer.from(keys.find((k) => k.kty === 'RSA')!.n!, 'base64url').length * 8).toBe(3072);
  });

  it('publishes no private members', async () => {
    const jwks = (await loadKey({ devDataDir: join(scratch, 'data') }, INGEST_KEYS)).publicJwks();
    for (const jwk of jwks.keys) {
      expect(Object.keys(jwk).filter((name) => PRIVATE_MEMBERS.includes(name))).toEqual([]);
      expect(jwk.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
  });
});

describe('configured key ring', () => {
  it('loads a JWKS from an environment value and a directory of JWK files', async () => {
    const jwks = await generateIngestJwks();
    const fromEnv = await loadKey({ json: JSON.stringify({ keys: jwks }) }, INGEST_KEYS);
    const dir = join(scratch, 'dir');
    await mkdir(dir);
    await Promise.all(jwks.map((jwk, i) => writeFile(join(dir, `key-${i}.json`), JSON.stringify(jwk), { mode: 0o600 })));
    const fromDir = await loadKey({ dir }, INGEST_KEYS);
    expect(fromDir.publicJwks()).toEqual(fromEnv.publicJwks());
    expect(fromEnv.kids).toEqual(jwks.map((jwk) => jwk.kid));
  });

  it('keeps decrypting for an older key after rotation', async () => {
    const [older] = await generateIngestJwks();
    const [newer] = await generateIngestJwks();
    const before = await loadKey({ json: JSON.stringify({ keys: [older] }) }, INGEST_KEYS);
    const cachedByClient = before.publicJwks().keys[0]!;
    const part = await joseEncrypt(cachedByClient, Buffer.from('sent with the old JWKS'));

    const after = await loadKey({ json: JSON.stringify({ keys: [newer, older] }) }, INGEST_KEYS);
    expect((await decryptPart(part, after)).plaintext.toString()).toBe('sent with the old JWKS');
    expect(after.publicJwks().keys.map((k) => k.kid)).toEqual([newer!.kid, older!.kid]);
  });

  it.each([
    ['a public key', async () => ({ ...(await publicOnly()), kid: 'a', alg: 'ECDH-ES+A256KW', use: 'enc' }), /is not a private key/],
    ['RSA below 3072 bits', () => privateJwk('RSA-OAEP-256', { modulusLength: 2048 }), /has 2048 bits; RSA needs at least 3072/],
    ['an X25519 key', () => privateJwk('ECDH-ES+A256KW', { crv: 'X25519' }), /OKP\/X25519 with alg 'ECDH-ES\+A256KW' is not allowed/],
    ['a P-521 key', () => privateJwk('ECDH-ES+A256KW', { crv: 'P-521' }), /EC\/P-521 .* is not allowed/],
    ['RSA1_5', () => privateJwk('RSA-OAEP-256', { modulusLength: 3072 }, 'RSA1_5'), /with alg 'RSA1_5' is not allowed/],
    ['use sig', async () => ({ ...(await privateJwk('ECDH-ES+A256KW', { crv: 'P-256' })), use: 'sig' }), /must have use 'enc'/],
  ])('refuses %s', async (_name, build, reason) => {
    await expect(loadKey({ json: JSON.stringify({ keys: [await build()] }) }, INGEST_KEYS)).rejects.toThrow(reason);
  });

  it('refuses duplicate kids and JSON it cannot parse without echoing it', async () => {
    const [jwk] = await generateIngestJwks();
    await expect(loadKey({ json: JSON.stringify({ keys: [jwk, jwk] }) }, INGEST_KEYS)).rejects.toThrow(/appears twice/);
    await expect(loadKey({ json: '{"d": "secret' }, INGEST_KEYS)).rejects.toThrow(/^ingest JWKS is not valid JSON$/);
    expect(() => new IngestKeyRing([])).toThrow(/empty/);
  });
});

describe('composeJwks', () => {
  it('merges key sets and refuses a kid used twice', async () => {
    const ring = await loadKey({ json: JSON.stringify({ keys: await generateIngestJwks() }) }, INGEST_KEYS);
    const signing = { keys: [{ kty: 'EC' as const, crv: 'P-256', x: 'x', y: 'y', kid: 'manifest-1', alg: 'ES256', use: 'sig' as const }] };
    expect(composeJwks(ring.publicJwks(), signing).keys).toHaveLength(4);
    expect(() => composeJwks(ring.publicJwks(), ring.publicJwks())).toThrow(/appears in more than one key set/);
  });
});

async function privateJwk(alg: string, options: object, claimedAlg = alg) {
  const { privateKey } = await generateKeyPair(alg, { ...options, extractable: true });
  return { ...(await exportJWK(privateKey)), kid: 'k', alg: claimedAlg, use: 'enc' };
}

async function publicOnly() {
  const { publicKey } = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256', extractable: true });
  return exportJWK(publicKey);
}
