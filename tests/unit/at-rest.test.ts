import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecryptStream, decryptObject, encryptObject, HEADER_BYTES, SEGMENT_SIZE, IntegrityError } from '../../src/crypto/at-rest.ts';
import { generateKek, KekRing, parseKekRing, STORAGE_KEY_RING } from '../../src/keys/kek-ring.ts';
import { devKeyFile, loadKey } from '../../src/keys/key-source.ts';
import { EncryptedStore } from '../../src/storage/encrypted-store.ts';
import { FsStore } from '../../src/storage/fs-store.ts';
import { InvalidKeyError, type ObjectStore } from '../../src/storage/object-store.ts';
import { freshS3Store, plainS3Client, s3Label } from '../../testkit/s3.ts';

const SEALED = SEGMENT_SIZE + 16;
let workDir: string;
beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'vsc-at-rest-'));
});
afterAll(() => rm(workDir, { recursive: true, force: true }));

async function fsPair(keys = new KekRing([generateKek('k1')])): Promise<{ raw: FsStore; enc: EncryptedStore; root: string }> {
  const root = await mkdtemp(path.join(workDir, 'store-'));
  const raw = new FsStore(root);
  return { raw, enc: new EncryptedStore(raw, keys), root };
}

/** Reads a stream to its end or first error; what it delivered before failing is kept. */
async function drain(stream: Readable): Promise<{ data: Buffer; error: unknown }> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return { data: Buffer.concat(chunks), error: undefined };
  } catch (error) {
    return { data: Buffer.concat(chunks), error };
  }
}

async function rewriteRaw(raw: ObjectStore, key: string, change: (bytes: Buffer) => Buffer): Promise<void> {
  await raw.put(key, change(Buffer.from(await raw.getBuffer(key))));
}

describe('at-rest format', () => {
  it.each([0, 1, SEGMENT_SIZE - 1, SEGMENT_SIZE, SEGMENT_SIZE + 1, 2 * SEGMENT_SIZE, 300_001])(
    'round-trips %i bytes whole and through the stream in odd chunk sizes',
    async (size) => {
      const keys = new KekRing([generateKek('k1')]);
      const data = randomBytes(size);
      const sealed = encryptObject(data, 'docs/a', keys.active);
      expect(sealed.length).toBe(HEADER_BYTES + size + Math.max(1, Math.ceil(size / SEGMENT_SIZE)) * 16);
      expect(decryptObject(sealed, 'docs/a', keys)).toEqual(data);
      const chunks = Array.from({ length: Math.ceil(sealed.length / 7777) }, (_, i) => sealed.subarray(i * 7777, (i + 1) * 7777));
      const stream = Readable.from(chunks).pipe(new DecryptStream({ objectKey: 'docs/a', keys }));
      expect(await buffer(stream)).toEqual(data);
    },
  );

  it('uses a fresh data key and nonce prefix per object', () => {
    const kek = generateKek('k1');
    const a = encryptObject(Buffer.from('same'), 'same/key', kek);
    const b = encryptObject(Buffer.from('same'), 'same/key', kek);
    expect(a.subarray(42, HEADER_BYTES)).not.toEqual(b.subarray(42, HEADER_BYTES));
    expect(a.subarray(HEADER_BYTES)).not.toEqual(b.subarray(HEADER_BYTES));
  });
});

describe('tamper detection (EncryptedStore over FsStore)', () => {
  const data = randomBytes(3 * SEGMENT_SIZE + 500);
  let stores: Awaited<ReturnType<typeof fsPair>>;
  beforeAll(async () => {
    stores = await fsPair();
  });

  async function tampered(change: (bytes: Buffer) => Buffer): Promise<string> {
    const key = `obj/${randomBytes(4).toString('hex')}`;
    await stores.enc.put(key, data);
    await rewriteRaw(stores.raw, key, change);
    return key;
  }

  async function expectIntegrityFailure(key: string, message: RegExp): Promise<void> {
    const { data: delivered, error } = await drain(await stores.enc.get(key));
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).message).toMatch(message);
    // Whatever arrived before the failure was authenticated: a true prefix of the plaintext.
    expect(data.subarray(0, delivered.length)).toEqual(delivered);
    await expect(stores.enc.getBuffer(key)).rejects.toBeInstanceOf(IntegrityError);
  }

  const flip = (offset: number) => (bytes: Buffer) => {
    const at = offset < 0 ? bytes.length + offset : offset;
    bytes[at]! ^= 0x01;
    return bytes;
  };

  it.each([
    ['the magic', 0, /bad magic/],
    ['the version', 4, /unsupported format version/],
    ['the KEK id', 10, /unknown key-encryption key "j1"/],
    ['the KEK id padding', 20, /segment 0 failed/],
    ['the wrapped data key', 50, /does not unwrap/],
    ['the nonce prefix', 85, /failed authentication/],
    ['the first segment', HEADER_BYTES + 10, /segment 0 failed/],
    ['a middle segment', HEADER_BYTES + SEALED + 5, /segment 1 failed/],
    ['the first tag', HEADER_BYTES + SEALED - 1, /segment 0 failed/],
    ['the last byte', -1, /segment 3 failed/],
  ])('a bit flipped in %s fails the read', async (_label, offset, message) => {
    await expectIntegrityFailure(await tampered(flip(offset)), message);
  });

  it('a flipped bit also fails a range read of that segment, and only that one', async () => {
    const key = await tampered(flip(HEADER_BYTES + SEALED + 5));
    const bad = await drain(await stores.enc.get(key, { start: SEGMENT_SIZE + 10, end: SEGMENT_SIZE + 20 }));
    expect(bad.error).toBeInstanceOf(IntegrityError);
    expect(bad.data.length).toBe(0);
    expect(await buffer(await stores.enc.get(key, { start: 10, end: 20 }))).toEqual(data.subarray(10, 20));
  });

  it.each([
    ['by one byte', (b: Buffer) => b.subarray(0, b.length - 1), /failed authentication|impossible/],
    ['by its whole last segment', (b: Buffer) => b.subarray(0, HEADER_BYTES + 3 * SEALED), /segment 2 failed/],
    ['to its header', (b: Buffer) => b.subarray(0, HEADER_BYTES), /truncated|impossible/],
    ['inside its header', (b: Buffer) => b.subarray(0, 20), /truncated header|impossible/],
  ])('an object truncated %s fails the read', async (_label, cut, message) => {
    await expectIntegrityFailure(await tampered(cut), message);
  });

  it('an appended segment fails the read', async () => {
    await expectIntegrityFailure(await tampered((b) => Buffer.concat([b, b.subarray(HEADER_BYTES, HEADER_BYTES + SEALED)])), /failed authentication/);
  });

  it('reordered segments fail the read', async () => {
    const swap = (b: Buffer) => {
      const first = Buffer.from(b.subarray(HEADER_BYTES, HEADER_BYTES + SEALED));
      b.copy(b, HEADER_BYTES, HEADER_BYTES + SEALED, HEADER_BYTES + 2 * SEALED);
      first.copy(b, HEADER_BYTES + SEALED);
      return b;
    };
    await expectIntegrityFailure(await tampered(swap), /segment 0 failed/);
  });

  it('an object copied over another key fails the read (objects cannot be swapped)', async () => {
    await stores.enc.put('swap/a', Buffer.from('document A'));
    await stores.enc.put('swap/b', Buffer.from('document B'));
    await stores.raw.put('swap/b', await stores.raw.getBuffer('swap/a'));
    await expectIntegrityFailure('swap/b', /failed authentication/);
  });
});

describe('key-encryption keys', () => {
  it('a wrong key under the same id fails with a clear integrity error', async () => {
    const { raw, enc } = await fsPair(new KekRing([generateKek('k1')]));
    await enc.put('a', Buffer.from('secret'));
    const impostor = new EncryptedStore(raw, new KekRing([generateKek('k1')]));
    await expect(impostor.getBuffer('a')).rejects.toThrow(/a: data key does not unwrap with key-encryption key "k1"/);
  });

  it('an unknown key id fails with a clear integrity error', async () => {
    const { raw, enc } = await fsPair(new KekRing([generateKek('k1')]));
    await enc.put('a', Buffer.from('secret'));
    const other = new EncryptedStore(raw, new KekRing([generateKek('k9')]));
    await expect(other.getBuffer('a')).rejects.toThrow(IntegrityError);
    await expect(other.getBuffer('a')).rejects.toThrow(/unknown key-encryption key "k1"/);
  });

  it('rotates: old objects stay readable after a new key is added, new writes use the new key', async () => {
    const k1 = generateKek('k2026a');
    const k2 = generateKek('k2026b');
    const { raw, enc: before } = await fsPair(new KekRing([k1]));
    await before.put('old', Buffer.from('written under k1'));
    const after = new EncryptedStore(raw, new KekRing([k1, k2]));
    await after.put('new', Buffer.from('written under k2'));
    expect((await after.getBuffer('old')).toString()).toBe('written under k1');
    expect((await after.getBuffer('new')).toString()).toBe('written under k2');
    expect((await raw.getBuffer('new')).toString('latin1', 10, 16)).toBe('k2026b');
    await expect(new EncryptedStore(raw, new KekRing([k2])).getBuffer('old')).rejects.toThrow(/unknown key-encryption key "k2026a"/);
  });

  it('parses the JSON form, newest key last, without echoing key material in errors', () => {
    const k1 = generateKek('k1');
    const k2 = generateKek('k2');
    const ring = parseKekRing(JSON.stringify(new KekRing([k1, k2])), 'STORAGE_KEYS');
    expect(ring.active.id).toBe('k2');
    expect(ring.find('k1')?.key).toEqual(k1.key);
    const short = Buffer.alloc(16, 7).toString('base64');
    expect(() => parseKekRing(JSON.stringify({ keys: [{ id: 'k1', key: short }] }), 'STORAGE_KEYS')).toThrow(/STORAGE_KEYS: key k1 must be .* 32 bytes/);
    try {
      parseKekRing(`{"keys":[{"id":"bad id!","key":"${short}"}]}`, 'STORAGE_KEYS');
    } catch (err) {
      expect((err as Error).message).not.toContain(short);
    }
    expect(() => parseKekRing('{"keys":[]}', 'X')).toThrow(/X: expected/);
    expect(() => new KekRing([k1, k1])).toThrow(/appears twice/);
  });

  it('generates development keys once, mode 0600, and reuses them', async () => {
    const dataDir = await mkdtemp(path.join(workDir, 'data-'));
    const first = await loadKey({ devDataDir: dataDir }, STORAGE_KEY_RING);
    const second = await loadKey({ devDataDir: dataDir }, STORAGE_KEY_RING);
    expect(second.active).toEqual(first.active);
    expect((await stat(devKeyFile(STORAGE_KEY_RING, dataDir))).mode & 0o777).toBe(0o600);
    const file = path.join(dataDir, 'given.json');
    await writeFile(file, JSON.stringify(first));
    expect((await loadKey({ file }, STORAGE_KEY_RING)).active).toEqual(first.active);
    await expect(loadKey({}, STORAGE_KEY_RING)).rejects.toThrow(/STORAGE_KEYS/);
  });
});

describe('FsStore keys cannot leave its directory', () => {
  it.each(['../outside', 'a/../../outside', '/etc/passwd', 'a\\..\\outside', 'a\0b', 'a//b', './a'])('%j is rejected', async (key) => {
    const parent = await mkdtemp(path.join(workDir, 'jail-'));
    const store = new FsStore(path.join(parent, 'root'));
    await store.ensureRoot();
    await expect(store.put(key, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(store.head(key)).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(store.delete(key)).rejects.toBeInstanceOf(InvalidKeyError);
    expect(await readdir(parent)).toEqual(['root']);
    expect(await readdir(path.join(parent, 'root'))).toEqual([]);
  });
});

describe('independent reader from docs/storage-format.md', () => {
  it('Python (cryptography) decrypts what EncryptedStore wrote', async () => {
    const probe = spawnSync('/usr/bin/python3', ['-c', 'import cryptography']);
    if (probe.status !== 0) throw new Error('this test needs /usr/bin/python3 with python3-cryptography (apt-get install python3-cryptography)');
    const kek = generateKek('k-doc');
    const { raw, enc, root } = await fsPair(new KekRing([kek]));
    const data = randomBytes(2 * SEGMENT_SIZE + 1234);
    await enc.put('documents/01J0000000000000000000000/original/1', data);
    const file = path.join(root, 'documents/01J0000000000000000000000/original/1~');
    expect(await readFile(file)).toEqual(await raw.getBuffer('documents/01J0000000000000000000000/original/1'));
    const result = spawnSync('/usr/bin/python3', ['-c', PYTHON_READER, file, 'documents/01J0000000000000000000000/original/1', kek.id, kek.key.toString('base64')], {
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(result.stderr.toString()).toBe('');
    expect(result.stdout).toEqual(data);
  });
});

describe('no backend sees plaintext (marker search)', () => {
  const marker = `VSNFD-MARKER-${randomBytes(8).toString('hex')}`;
  const document = Buffer.from(`Aktenzeichen ${marker} — VS-NUR FÜR DEN DIENSTGEBRAUCH ${marker}`.repeat(2000));

  it('FsStore: the marker is in no file of the data directory', async () => {
    const { raw, enc, root } = await fsPair();
    await enc.put('documents/marker/original/1', document);
    await enc.put('documents/marker/record', Buffer.from(JSON.stringify({ title: marker })));
    expect(await enc.getBuffer('documents/marker/original/1')).toEqual(document);
    expect(await filesContaining(root, marker)).toEqual([]);
    // The search itself works: an unencrypted write is found.
    await raw.put('control/plain', document);
    expect(await filesContaining(root, marker)).toEqual([path.join(root, 'control', 'plain~')]);
  });

  it(`${s3Label()}: the marker is in no raw object of the bucket`, async () => {
    const store = await freshS3Store('marker');
    const enc = new EncryptedStore(store, new KekRing([generateKek('k1')]));
    await enc.put('documents/marker/original/1', document);
    await enc.put('documents/marker/record', Buffer.from(JSON.stringify({ title: marker })));
    expect(await enc.getBuffer('documents/marker/original/1')).toEqual(document);
    expect(await rawObjectsContaining(store.bucket, marker)).toEqual([]);
    await store.put('control/plain', document);
    expect(await rawObjectsContaining(store.bucket, marker)).toEqual(['control/plain']);
  });
});

async function filesContaining(dir: string, marker: string): Promise<string[]> {
  const hits: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const file = path.join(entry.parentPath, entry.name);
    if (entry.isFile() && (await readFile(file)).includes(marker)) hits.push(file);
  }
  return hits;
}

async function rawObjectsContaining(bucket: string, marker: string): Promise<string[]> {
  const client = plainS3Client();
  const hits: string[] = [];
  for await (const item of client.listObjectsV2(bucket, '', true)) {
    const name = (item as { name: string }).name;
    if ((await buffer(await client.getObject(bucket, name))).includes(marker)) hits.push(name);
  }
  return hits;
}

/** A reader written only from docs/storage-format.md: argv = file, object key, KEK id, KEK (base64). */
const PYTHON_READER = String.raw`
import base64, struct, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap

path, object_key, kek_id, kek_b64 = sys.argv[1:5]
blob = open(path, "rb").read()
header = blob[:89]
assert header[0:4] == b"VSCE" and header[4] == 1, "magic/version"
segment_size = struct.unpack(">I", header[5:9])[0]
id_len = header[9]
assert header[10:10 + id_len].decode("ascii") == kek_id, "kek id"
data_key = aes_key_unwrap(base64.b64decode(kek_b64), header[42:82])
prefix = header[82:89]
aad = header + object_key.encode("utf-8")
body = blob[89:]
sealed = segment_size + 16
count = max(1, -(-len(body) // sealed))
gcm = AESGCM(data_key)
out = sys.stdout.buffer
for i in range(count):
    nonce = prefix + struct.pack(">I", i) + bytes([1 if i == count - 1 else 0])
    out.write(gcm.decrypt(nonce, body[i * sealed:(i + 1) * sealed], aad))
`;
