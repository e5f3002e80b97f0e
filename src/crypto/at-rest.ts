/**
 * The at-rest object format, version 1 (docs/storage-format.md is the specification):
 * an 89-byte header, then the plaintext in 64 KiB segments, each sealed with AES-256-GCM
 * under a fresh per-object data key that the header carries wrapped (AES-256-KW) by a KEK.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { KEK_ID_PATTERN, type Kek, type KekLookup } from '../keys/kek-ring.ts';

/** Stored bytes failed authentication: flipped bit, truncation or unknown/wrong key. */
export class IntegrityError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IntegrityError';
  }
}

const MAGIC = Buffer.from('VSCE', 'latin1');
const FORMAT_VERSION = 1;
/** Plaintext bytes per segment; fixed in version 1 so sizes follow from raw sizes alone. */
export const SEGMENT_SIZE = 64 * 1024;
const TAG_BYTES = 16;
const SEALED_SEGMENT = SEGMENT_SIZE + TAG_BYTES;
const KEK_ID_FIELD = 32;
const WRAPPED_KEY_BYTES = 40;
const NONCE_PREFIX_BYTES = 7;
const DATA_KEY_BYTES = 32;
/** RFC 3394's default initial value, which AES-KW checks on unwrap. */
const KW_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');

const OFFSET = { version: 4, segmentSize: 5, kekIdLength: 9, kekId: 10, wrappedKey: 42, noncePrefix: 82 } as const;
export const HEADER_BYTES = OFFSET.noncePrefix + NONCE_PREFIX_BYTES;

interface Header {
  /** The header's bytes as stored; all of them are authenticated with every segment. */
  readonly bytes: Buffer;
  readonly kekId: string;
  readonly wrappedKey: Buffer;
  readonly noncePrefix: Buffer;
}

/** Seals a whole object into one buffer: header || segment 0 || … || segment n-1. */
export function encryptObject(plaintext: Uint8Array, objectKey: string, kek: Kek): Buffer {
  return Buffer.concat(sealObject(plaintext, objectKey, kek));
}

/** Seals a whole object as its pieces in order (header, then each segment's ciphertext and tag), uncopied. */
export function sealObject(plaintext: Uint8Array, objectKey: string, kek: Kek): Buffer[] {
  const dataKey = randomBytes(DATA_KEY_BYTES);
  const header = buildHeader(kek.id, wrapKey(kek.key, dataKey), randomBytes(NONCE_PREFIX_BYTES));
  const aad = associatedData(header.bytes, objectKey);
  const count = segmentCount(plaintext.length);
  const pieces = [header.bytes];
  for (let index = 0; index < count; index++) {
    const cipher = createCipheriv('aes-256-gcm', dataKey, nonce(header.noncePrefix, index, index === count - 1));
    cipher.setAAD(aad);
    pieces.push(cipher.update(plaintext.subarray(index * SEGMENT_SIZE, (index + 1) * SEGMENT_SIZE)));
    cipher.final();
    pieces.push(cipher.getAuthTag());
  }
  return pieces;
}

/** Decrypts a whole stored object held in memory. */
export function decryptObject(sealed: Buffer, objectKey: string, keys: KekLookup): Buffer {
  const opener = SegmentOpener.fromHeader(sealed.subarray(0, HEADER_BYTES), objectKey, keys);
  const count = segmentCountOfSealed(sealed.length, objectKey);
  const parts: Buffer[] = [];
  for (let index = 0; index < count; index++) {
    const segment = sealed.subarray(HEADER_BYTES + index * SEALED_SEGMENT, HEADER_BYTES + (index + 1) * SEALED_SEGMENT);
    parts.push(...opener.open(index, index === count - 1, [segment.subarray(0, -TAG_BYTES)], segment.subarray(-TAG_BYTES)));
  }
  return Buffer.concat(parts);
}

/** Plaintext size of a stored object of `rawSize` bytes; IntegrityError when no writer makes that size. */
export function plaintextSize(rawSize: number, objectKey: string): number {
  return rawSize - HEADER_BYTES - segmentCountOfSealed(rawSize, objectKey) * TAG_BYTES;
}

/** Which stored bytes hold plaintext [start, end) (end > start), and how to cut the decrypted segments. */
export interface SegmentPlan {
  rawStart: number;
  rawEnd: number;
  firstSegment: number;
  /** Whether the plan's last segment is the object's last (its nonce carries the last flag). */
  endsAtLastSegment: boolean;
  /** Plaintext bytes to drop from the first decrypted segment. */
  skip: number;
  length: number;
}

export function planRange(rawSize: number, objectKey: string, start: number, end: number): SegmentPlan {
  const count = segmentCountOfSealed(rawSize, objectKey);
  const firstSegment = Math.floor(start / SEGMENT_SIZE);
  const lastSegment = Math.floor((end - 1) / SEGMENT_SIZE);
  return {
    rawStart: HEADER_BYTES + firstSegment * SEALED_SEGMENT,
    rawEnd: Math.min(HEADER_BYTES + (lastSegment + 1) * SEALED_SEGMENT, rawSize),
    firstSegment,
    endsAtLastSegment: lastSegment === count - 1,
    skip: start - firstSegment * SEGMENT_SIZE,
    length: end - start,
  };
}

/** Opens (authenticates and decrypts) the segments of one object. */
export class SegmentOpener {
  private constructor(
    private readonly dataKey: Buffer,
    private readonly header: Header,
    private readonly aad: Buffer,
    readonly objectKey: string,
  ) {}

  /** Parses the header and unwraps the data key with the KEK the header names. */
  static fromHeader(headerBytes: Buffer, objectKey: string, keys: KekLookup): SegmentOpener {
    const header = parseHeader(headerBytes, objectKey);
    const kek = keys.find(header.kekId);
    if (!kek) throw new IntegrityError(`${objectKey}: encrypted with unknown key-encryption key "${header.kekId}"`);
    const dataKey = unwrapKey(kek.key, header.wrappedKey, objectKey, header.kekId);
    return new SegmentOpener(dataKey, header, associatedData(header.bytes, objectKey), objectKey);
  }

  /** Decrypts segment `index` given as ciphertext pieces (zero-copy slices) and its tag; plaintext pieces out. */
  open(index: number, last: boolean, ciphertext: readonly Buffer[], tag: Buffer): Buffer[] {
    if (tag.length !== TAG_BYTES) throw new IntegrityError(`${this.objectKey}: truncated in segment ${index}`);
    const decipher = createDecipheriv('aes-256-gcm', this.dataKey, nonce(this.header.noncePrefix, index, last), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(this.aad);
    decipher.setAuthTag(tag);
    const plaintext = ciphertext.map((piece) => decipher.update(piece));
    try {
      decipher.final();
    } catch (err) {
      throw new IntegrityError(
        `${this.objectKey}: segment ${index} failed authentication (modified, truncated, reordered or stored under another key)`,
        { cause: err },
      );
    }
    return plaintext;
  }
}

function parseHeader(stored: Buffer, objectKey: string): Header {
  if (stored.length < HEADER_BYTES) throw new IntegrityError(`${objectKey}: truncated header (${stored.length} of ${HEADER_BYTES} bytes)`);
  // A copy, so a header kept by an opener never pins the large buffer it was cut from.
  const bytes = Buffer.from(stored.subarray(0, HEADER_BYTES));
  if (!bytes.subarray(0, MAGIC.length).equals(MAGIC)) throw new IntegrityError(`${objectKey}: not an encrypted VS-Capture object (bad magic)`);
  const version = bytes[OFFSET.version];
  if (version !== FORMAT_VERSION) throw new IntegrityError(`${objectKey}: unsupported format version ${version}`);
  const segmentSize = bytes.readUInt32BE(OFFSET.segmentSize);
  if (segmentSize !== SEGMENT_SIZE) throw new IntegrityError(`${objectKey}: segment size ${segmentSize} is not ${SEGMENT_SIZE}`);
  const idLength = bytes[OFFSET.kekIdLength]!;
  const kekId = bytes.toString('latin1', OFFSET.kekId, OFFSET.kekId + idLength);
  if (idLength > KEK_ID_FIELD || !KEK_ID_PATTERN.test(kekId)) throw new IntegrityError(`${objectKey}: malformed key-encryption key id in header`);
  return {
    bytes,
    kekId,
    wrappedKey: bytes.subarray(OFFSET.wrappedKey, OFFSET.wrappedKey + WRAPPED_KEY_BYTES),
    noncePrefix: bytes.subarray(OFFSET.noncePrefix, OFFSET.noncePrefix + NONCE_PREFIX_BYTES),
  };
}

function buildHeader(kekId: string, wrappedKey: Buffer, noncePrefix: Buffer): Header {
  const bytes = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(bytes, 0);
  bytes[OFFSET.version] = FORMAT_VERSION;
  bytes.writeUInt32BE(SEGMENT_SIZE, OFFSET.segmentSize);
  bytes[OFFSET.kekIdLength] = bytes.write(kekId, OFFSET.kekId, KEK_ID_FIELD, 'latin1');
  wrappedKey.copy(bytes, OFFSET.wrappedKey);
  noncePrefix.copy(bytes, OFFSET.noncePrefix);
  return parseHeader(bytes, '(new object)');
}

/** nonce = prefix (7) || segment index (u32 BE) || last-segment flag (1 byte) */
function nonce(prefix: Buffer, index: number, last: boolean): Buffer {
  const out = Buffer.allocUnsafe(12);
  prefix.copy(out, 0);
  out.writeUInt32BE(index, NONCE_PREFIX_BYTES);
  out[11] = last ? 1 : 0;
  return out;
}

/** AAD binds the header and the object's key, so an object moved to another key fails. */
function associatedData(header: Buffer, objectKey: string): Buffer {
  return Buffer.concat([header, Buffer.from(objectKey, 'utf8')]);
}

function segmentCount(size: number): number {
  return Math.max(1, Math.ceil(size / SEGMENT_SIZE));
}

/** Segment count of a stored object; writers never emit an empty last segment unless the object is empty. */
function segmentCountOfSealed(rawSize: number, objectKey: string): number {
  const body = rawSize - HEADER_BYTES;
  const count = Math.ceil(body / SEALED_SEGMENT);
  const lastSealed = body - (count - 1) * SEALED_SEGMENT;
  if (body < TAG_BYTES || lastSealed < TAG_BYTES || (count > 1 && lastSealed === TAG_BYTES)) {
    throw new IntegrityError(`${objectKey}: stored size ${rawSize} is impossible (truncated or extended)`);
  }
  return count;
}

function wrapKey(kek: Buffer, dataKey: Buffer): Buffer {
  const cipher = createCipheriv('id-aes256-wrap', kek, KW_IV);
  return Buffer.concat([cipher.update(dataKey), cipher.final()]);
}

function unwrapKey(kek: Buffer, wrapped: Buffer, objectKey: string, kekId: string): Buffer {
  try {
    const decipher = createDecipheriv('id-aes256-wrap', kek, KW_IV);
    return Buffer.concat([decipher.update(wrapped), decipher.final()]);
  } catch (err) {
    throw new IntegrityError(`${objectKey}: data key does not unwrap with key-encryption key "${kekId}" (wrong key or modified header)`, {
      cause: err,
    });
  }
}

/** Where a DecryptStream starts: at the header (whole object) or mid-object with an opener (range). */
export type DecryptStart =
  | { objectKey: string; keys: KekLookup }
  | { opener: SegmentOpener; plan: SegmentPlan };

/**
 * Turns stored bytes into plaintext, one authenticated segment at a time; a segment's bytes are
 * released only after its tag verified, and the stream fails with IntegrityError otherwise.
 */
export class DecryptStream extends Transform {
  private opener: SegmentOpener | undefined;
  private readonly start: DecryptStart;
  private readonly objectKey: string;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private index: number;
  private skip: number;
  private remaining: number;
  private readonly endsAtLastSegment: boolean;

  constructor(start: DecryptStart) {
    // Room for several segments on each side, so reading never stalls per 16 KiB chunk.
    super({ highWaterMark: 1024 * 1024 });
    this.start = start;
    this.objectKey = 'opener' in start ? start.opener.objectKey : start.objectKey;
    if ('opener' in start) {
      this.opener = start.opener;
      this.index = start.plan.firstSegment;
      this.skip = start.plan.skip;
      this.remaining = start.plan.length;
      this.endsAtLastSegment = start.plan.endsAtLastSegment;
    } else {
      this.index = 0;
      this.skip = 0;
      this.remaining = Number.POSITIVE_INFINITY;
      this.endsAtLastSegment = true;
    }
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    try {
      if (!this.opener && this.pendingBytes >= HEADER_BYTES) this.opener = this.openHeader();
      // A full segment is known not to be the last only once a byte after it has arrived.
      while (this.opener && this.pendingBytes > SEALED_SEGMENT) this.openSegment(this.opener, false, SEALED_SEGMENT);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      if (!this.opener) throw new IntegrityError(`${this.objectKey}: truncated header`);
      if (this.pendingBytes < TAG_BYTES || (!this.endsAtLastSegment && this.pendingBytes !== SEALED_SEGMENT)) {
        throw new IntegrityError(`${this.objectKey}: truncated in segment ${this.index}`);
      }
      this.openSegment(this.opener, this.endsAtLastSegment, this.pendingBytes);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  private openHeader(): SegmentOpener {
    const { objectKey, keys } = this.start as { objectKey: string; keys: KekLookup };
    return SegmentOpener.fromHeader(Buffer.concat(this.dequeue(HEADER_BYTES)), objectKey, keys);
  }

  private openSegment(opener: SegmentOpener, last: boolean, sealedBytes: number): void {
    const ciphertext = this.dequeue(sealedBytes - TAG_BYTES);
    const tag = Buffer.concat(this.dequeue(TAG_BYTES));
    for (const piece of opener.open(this.index++, last, ciphertext, tag)) this.pushPlaintext(piece);
  }

  /** Removes the first n pending bytes as slices of the chunks that hold them: no copying. */
  private dequeue(n: number): Buffer[] {
    const pieces: Buffer[] = [];
    this.pendingBytes -= n;
    while (n > 0) {
      const head = this.pending[0]!;
      if (head.length <= n) {
        pieces.push(head);
        this.pending.shift();
      } else {
        pieces.push(head.subarray(0, n));
        this.pending[0] = head.subarray(n);
      }
      n -= pieces.at(-1)!.length;
    }
    return pieces;
  }

  private pushPlaintext(plaintext: Buffer): void {
    const from = Math.min(this.skip, plaintext.length);
    this.skip -= from;
    const piece = plaintext.subarray(from, from + Math.min(this.remaining, plaintext.length - from));
    this.remaining -= piece.length;
    if (piece.length) this.push(piece);
  }
}
