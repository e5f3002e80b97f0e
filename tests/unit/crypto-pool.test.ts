import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptObject } from '../../src/crypto/at-rest.ts';
import { generateKek, KekRing } from '../../src/keys/kek-ring.ts';
import { createCryptoPool, INLINE_BYTES, type CryptoPool } from '../../src/crypto/offload.ts';
import { EncryptedStore } from '../../src/storage/encrypted-store.ts';
import { FsStore } from '../../src/storage/fs-store.ts';
import { INGEST_KEYS, type IngestKeyRing } from '../../src/keys/ingest-keys.ts';
import { loadKey } from '../../src/keys/key-source.ts';
import { joseEncrypt } from '../../testkit/jwe-fixtures.ts';

let dir: string;
let pool: CryptoPool;
let ring: IngestKeyRing;
const keys = new KekRing([generateKek('k1')]);
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vsc-crypto-pool-'));
  pool = createCryptoPool({ threads: 1 });
  ring = await loadKey({ devDataDir: path.join(dir, 'ingest') }, INGEST_KEYS);
});
afterAll(async () => {
  await pool.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the crypto pool sealing for EncryptedStore', () => {
  const store = () => {
    const raw = new FsStore(dir);
    return { raw, enc: new EncryptedStore(raw, keys, pool.seal) };
  };

  it('moves a handed-over plaintext to the worker (detached here) and stores it sealed as given', async () => {
    const { raw, enc } = store();
    const plaintext = randomBytes(4 * INLINE_BYTES + 123);
    const expected = Buffer.from(plaintext);
    await enc.put('a/handed-over', plaintext, { handOver: true });
    expect(plaintext.byteLength).toBe(0);
    expect((await enc.getBuffer('a/handed-over')).equals(expected)).toBe(true);
    // The stored bytes are the at-rest format, readable without the store.
    expect(decryptObject(await raw.getBuffer('a/handed-over'), 'a/handed-over', keys).equals(expected)).toBe(true);
  });

  it('copies a plaintext not handed over: the caller still reads it', async () => {
    const { enc } = store();
    const plaintext = randomBytes(4 * INLINE_BYTES);
    const expected = Buffer.from(plaintext);
    await enc.put('a/kept', plaintext);
    expect(plaintext.equals(expected)).toBe(true);
    expect((await enc.getBuffer('a/kept')).equals(expected)).toBe(true);
  });

  it('copies a handed-over view into a larger buffer, so the rest of that buffer stays usable', async () => {
    const { enc } = store();
    const whole = randomBytes(8 * INLINE_BYTES);
    const view = whole.subarray(INLINE_BYTES, 5 * INLINE_BYTES);
    const expected = Buffer.from(view);
    await enc.put('a/view', view, { handOver: true });
    expect(whole.byteLength).toBe(8 * INLINE_BYTES);
    expect((await enc.getBuffer('a/view')).equals(expected)).toBe(true);
  });
});

describe('the crypto pool decrypting a part', () => {
  it('leaves a large plaintext in shared memory, which sealing reads in place: stored as decrypted, never detached', async () => {
    const payload = randomBytes(4 * INLINE_BYTES + 7);
    const jwk = ring.publicJwks().keys.find((k) => k.crv === 'P-256')!;
    const compact = Buffer.from(await joseEncrypt(jwk, payload, { cty: 'image/jpeg' }));
    const part = await pool.decrypt(compact, ring, {});
    expect(part.plaintext.equals(payload)).toBe(true);
    expect(part.header.cty).toBe('image/jpeg');
    expect(part.sha256).toBe(createHash('sha256').update(payload).digest('hex'));
    expect(part.plaintext.buffer).toBeInstanceOf(SharedArrayBuffer);

    const raw = new FsStore(dir);
    await new EncryptedStore(raw, keys, pool.seal).put('a/shared', part.plaintext, { handOver: true });
    expect(part.plaintext.equals(payload), 'shared memory is not moved away').toBe(true);
    expect(decryptObject(await raw.getBuffer('a/shared'), 'a/shared', keys).equals(payload)).toBe(true);
  });

  it('decrypts a small part on the event loop, in memory of its own', async () => {
    const payload = randomBytes(100);
    const jwk = ring.publicJwks().keys.find((k) => k.crv === 'P-256')!;
    const part = await pool.decrypt(Buffer.from(await joseEncrypt(jwk, payload)), ring, {});
    expect(part.plaintext.equals(payload)).toBe(true);
    expect(part.plaintext.buffer).toBeInstanceOf(ArrayBuffer);
  });
});
