import { pipeline, Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import {
  DecryptStream,
  HEADER_BYTES,
  planRange,
  plaintextSize,
  sealObject,
  SegmentOpener,
} from '../crypto/at-rest.ts';
import type { Kek, KekLookup } from '../keys/kek-ring.ts';
import {
  assertValidKey,
  clipRange,
  type ByteRange,
  type ListOptions,
  type ObjectBody,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
} from './object-store.ts';

/** Seals one object's plaintext in the at-rest format; the crypto pool (src/crypto/offload.ts) offers one off the event loop, `handOver` as in PutOptions. */
export type Sealer = (plaintext: Uint8Array, objectKey: string, kek: Kek, handOver?: boolean) => Buffer[] | Promise<Buffer[]>;

/**
 * Encrypts every object before it reaches `inner` (docs/storage-format.md), so no backend sees
 * plaintext. Sizes in head/list are plaintext sizes; reads fail with IntegrityError, never with
 * altered bytes.
 */
export class EncryptedStore implements ObjectStore {
  constructor(
    private readonly inner: ObjectStore,
    private readonly keys: KekLookup,
    private readonly seal: Sealer = sealObject,
  ) {}

  async put(key: string, body: ObjectBody, options: PutOptions = {}): Promise<void> {
    assertValidKey(key);
    const plaintext = body instanceof Uint8Array ? body : Buffer.concat(body);
    // The sealed pieces go down as they are: the backend's own copy is the only one.
    await this.inner.put(key, await this.seal(plaintext, key, this.keys.active, options.handOver ?? false));
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    if (!range || (range.start === 0 && range.end === undefined)) {
      return decrypting(await this.inner.get(key), new DecryptStream({ objectKey: key, keys: this.keys }));
    }
    const { size: rawSize } = await this.inner.head(key);
    const { start, end } = clipRange(range, plaintextSize(rawSize, key));
    if (start === end) return Readable.from([]);
    // The header is read for every range: it names the KEK and carries the wrapped data key.
    const opener = SegmentOpener.fromHeader(await this.readHeader(key), key, this.keys);
    const plan = planRange(rawSize, key, start, end);
    const stored = await this.inner.get(key, { start: plan.rawStart, end: plan.rawEnd });
    return decrypting(stored, new DecryptStream({ opener, plan }));
  }

  async getBuffer(key: string): Promise<Buffer> {
    return buffer(await this.get(key));
  }

  async head(key: string): Promise<ObjectInfo> {
    const { size } = await this.inner.head(key);
    return { key, size: plaintextSize(size, key) };
  }

  async list(options?: ListOptions): Promise<ObjectInfo[]> {
    const raw = await this.inner.list(options);
    return raw.map(({ key, size }) => ({ key, size: plaintextSize(size, key) }));
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  private async readHeader(key: string): Promise<Buffer> {
    return buffer(await this.inner.get(key, { start: 0, end: HEADER_BYTES }));
  }
}

/** Stored bytes through the decryptor; an error on either side reaches the reader. */
function decrypting(stored: Readable, decryptor: DecryptStream): Readable {
  return pipeline(stored, decryptor, () => undefined);
}
