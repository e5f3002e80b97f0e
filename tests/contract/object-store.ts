/**
 * The one conformance suite every ObjectStore passes. Each test writes under its own random
 * prefix, so tests never depend on each other's leftovers.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidKeyError, ObjectNotFoundError, type ByteRange, type ObjectStore } from '../../src/storage/object-store.ts';
import { IntegrityError } from '../../src/crypto/at-rest.ts';

const MB = 1024 * 1024;

export function describeObjectStoreContract(name: string, makeStore: () => Promise<ObjectStore>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore;
    beforeAll(async () => {
      store = await makeStore();
    });
    const fresh = () => `t${randomBytes(6).toString('hex')}/`;

    it('is reachable', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it.each([
      ['empty', 0],
      ['small', 300],
    ])('round-trips an %s object', async (_label, size) => {
      const key = `${fresh()}obj`;
      const data = randomBytes(size);
      await store.put(key, data);
      expect(await store.getBuffer(key)).toEqual(data);
      expect(await buffer(await store.get(key))).toEqual(data);
      expect(await store.head(key)).toEqual({ key, size });
    });

    it('stores a body given as chunks concatenated', async () => {
      const key = `${fresh()}chunked`;
      const chunks = [randomBytes(70_000), Buffer.alloc(0), randomBytes(3), new Uint8Array(randomBytes(65_536))];
      await store.put(key, chunks);
      expect(await store.getBuffer(key)).toEqual(Buffer.concat(chunks));
      expect((await store.head(key)).size).toBe(70_000 + 3 + 65_536);
    });

    it('round-trips a 50 MB object by stream', async () => {
      const key = `${fresh()}big`;
      const data = randomBytes(50 * MB);
      await store.put(key, data);
      expect(await store.head(key)).toEqual({ key, size: data.length });
      expect(await sha256(await store.get(key))).toBe(createHash('sha256').update(data).digest('hex'));
      await store.delete(key);
    });

    describe('ranges (start inclusive, end exclusive, clipped like Array.slice)', () => {
      const data = randomBytes(200_000);
      let key: string;
      beforeAll(async () => {
        key = `${fresh()}ranged`;
        await store.put(key, data);
      });

      it.each<[string, ByteRange]>([
        ['start only', { start: 1000 }],
        ['start 0 only', { start: 0 }],
        ['start and end', { start: 70_000, end: 140_000 }],
        ['across a 64 KiB boundary', { start: 65_535, end: 65_537 }],
        ['the last byte', { start: 199_999 }],
        ['end beyond the object', { start: 150_000, end: 10_000_000 }],
        ['start at the end', { start: 200_000 }],
        ['start beyond the end', { start: 300_000, end: 400_000 }],
        ['empty (end = start)', { start: 5, end: 5 }],
      ])('%s', async (_label, range) => {
        expect(await buffer(await store.get(key, range))).toEqual(data.subarray(range.start, range.end));
      });

      it('of an empty object is empty', async () => {
        const emptyKey = `${fresh()}empty`;
        await store.put(emptyKey, Buffer.alloc(0));
        expect((await buffer(await store.get(emptyKey, { start: 0, end: 10 }))).length).toBe(0);
      });

      it('rejects negative or fractional bounds', async () => {
        await expect(store.get(key, { start: -1 })).rejects.toBeInstanceOf(RangeError);
        await expect(store.get(key, { start: 0, end: 1.5 })).rejects.toBeInstanceOf(RangeError);
      });

      it('of a missing object is not found', async () => {
        await expect(store.get(`${fresh()}missing`, { start: 10, end: 20 })).rejects.toBeInstanceOf(ObjectNotFoundError);
      });
    });

    describe('listing', () => {
      const names = ['b', 'a', 'a/b', 'a-c', 'a0', 'c/d/e', 'aa', 'a/a/z'];
      let prefix: string;
      let sorted: string[];
      beforeAll(async () => {
        prefix = fresh();
        sorted = names.map((n) => prefix + n).sort(byBytes);
        await Promise.all(names.map((n, i) => store.put(prefix + n, Buffer.alloc(i + 1, i))));
      });
      const keys = async (options: Parameters<ObjectStore['list']>[0]) => (await store.list(options)).map((o) => o.key);

      it('lists in lexicographic (byte) order with sizes', async () => {
        const listed = await store.list({ prefix });
        expect(listed.map((o) => o.key)).toEqual(sorted);
        expect(listed.map((o) => o.size)).toEqual(sorted.map((k) => names.indexOf(k.slice(prefix.length)) + 1));
      });

      it('filters by prefix', async () => {
        expect(await keys({ prefix: `${prefix}a` })).toEqual(sorted.filter((k) => k.startsWith(`${prefix}a`)));
        expect(await keys({ prefix: `${prefix}a/` })).toEqual([`${prefix}a/a/z`, `${prefix}a/b`]);
        expect(await keys({ prefix: `${prefix}zzz` })).toEqual([]);
      });

      it('continues strictly after startAfter, also from inside a "directory"', async () => {
        expect(await keys({ prefix, startAfter: `${prefix}a` })).toEqual(sorted.filter((k) => k > `${prefix}a`));
        expect(await keys({ prefix, startAfter: `${prefix}a/a` })).toEqual(sorted.filter((k) => k > `${prefix}a/a`));
        expect(await keys({ prefix, startAfter: sorted.at(-1) })).toEqual([]);
      });

      it('stops at limit, and pages through everything with startAfter', async () => {
        expect(await keys({ prefix, limit: 3 })).toEqual(sorted.slice(0, 3));
        const paged: string[] = [];
        for (let page = await keys({ prefix, limit: 3 }); page.length; page = await keys({ prefix, limit: 3, startAfter: paged.at(-1) })) {
          paged.push(...page);
        }
        expect(paged).toEqual(sorted);
      });
    });

    it('overwrites', async () => {
      const key = `${fresh()}obj`;
      await store.put(key, Buffer.from('first version, longer'));
      await store.put(key, Buffer.from('second'));
      expect((await store.getBuffer(key)).toString()).toBe('second');
      expect((await store.head(key)).size).toBe(6);
    });

    it('deletes, and deleting a missing key is not an error', async () => {
      const prefix = fresh();
      await store.put(`${prefix}obj`, Buffer.from('x'));
      await store.delete(`${prefix}obj`);
      await expect(store.head(`${prefix}obj`)).rejects.toBeInstanceOf(ObjectNotFoundError);
      expect(await store.list({ prefix })).toEqual([]);
      await expect(store.delete(`${prefix}never-existed`)).resolves.toBeUndefined();
    });

    it('reports not-found on get, getBuffer and head', async () => {
      const key = `${fresh()}missing`;
      await expect(store.get(key)).rejects.toBeInstanceOf(ObjectNotFoundError);
      await expect(store.getBuffer(key)).rejects.toBeInstanceOf(ObjectNotFoundError);
      await expect(store.head(key)).rejects.toBeInstanceOf(ObjectNotFoundError);
    });

    it('keeps exactly one intact write when writers race on one key', async () => {
      const key = `${fresh()}contended`;
      const versions = Array.from({ length: 8 }, () => randomBytes(MB + 123));
      await Promise.all(versions.map((v) => store.put(key, v)));
      const stored = await store.getBuffer(key);
      expect(versions.some((v) => v.equals(stored))).toBe(true);
    });

    it('keeps every write when writers run on different keys at once', async () => {
      const prefix = fresh();
      const versions = Array.from({ length: 16 }, (_, i) => randomBytes(100_000 + i));
      await Promise.all(versions.map((v, i) => store.put(`${prefix}${i}`, v)));
      const stored = await Promise.all(versions.map((_, i) => store.getBuffer(`${prefix}${i}`)));
      expect(stored).toEqual(versions);
    });

    it.each(['', '../escape', 'a/../../escape', '/absolute', 'a//b', 'a/', 'a\\b', 'a\0b', 'a/./b', 'ümlaut', 'a b'])(
      'rejects the key %j',
      async (key) => {
        await expect(store.put(key, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.get(key)).rejects.toBeInstanceOf(InvalidKeyError);
      },
    );
  });
}

/** An encrypting store and the raw store beneath it, whose bytes the tamper tests change. */
export interface EncryptedPair {
  store: ObjectStore;
  raw: ObjectStore;
}

/** The whole contract, plus: bytes changed in the backend make reads fail with IntegrityError. */
export function describeEncryptedStoreContract(name: string, makePair: () => Promise<EncryptedPair>): void {
  let made: Promise<EncryptedPair> | undefined;
  const pair = () => (made ??= makePair());
  describeObjectStoreContract(name, async () => (await pair()).store);

  describe(`tamper detection: ${name}`, () => {
    const data = randomBytes(150_000);
    const storedThenChanged = async (change: (stored: Buffer) => Buffer) => {
      const { store, raw } = await pair();
      const key = `t${randomBytes(6).toString('hex')}/doc`;
      await store.put(key, data);
      await raw.put(key, change(Buffer.from(await raw.getBuffer(key))));
      return key;
    };
    const expectIntegrityFailure = async (key: string, range: ByteRange) => {
      const { store } = await pair();
      await expect(store.getBuffer(key)).rejects.toBeInstanceOf(IntegrityError);
      await expect(store.get(key, range).then(buffer)).rejects.toBeInstanceOf(IntegrityError);
    };

    it.each<[string, (stored: Buffer) => Buffer, ByteRange]>([
      ['a flipped bit', (b) => flipBit(b, 100_000), { start: 99_000, end: 101_000 }],
      ['a truncated object', (b) => b.subarray(0, b.length - 1), { start: 149_000 }],
    ])('%s fails the read, also by range', async (_label, change, range) => {
      await expectIntegrityFailure(await storedThenChanged(change), range);
    });

    it('an object copied over from another key fails the read', async () => {
      const { raw } = await pair();
      const source = await storedThenChanged((b) => b);
      const key = `${source}-copy`;
      await raw.put(key, await raw.getBuffer(source));
      await expectIntegrityFailure(key, { start: 0, end: 10 });
    });
  });
}

function flipBit(bytes: Buffer, offset: number): Buffer {
  bytes[offset]! ^= 0x01;
  return bytes;
}

function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

async function sha256(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
