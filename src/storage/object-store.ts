import type { Readable } from 'node:stream';

/** A byte range, inclusive start, exclusive end (like Array.slice). */
export interface ByteRange {
  start: number;
  end?: number;
}

/**
 * An object's bytes: whole, or as consecutive chunks that are stored concatenated (lets a
 * producer of pieces, such as the encrypting store, skip one whole-object copy).
 */
export type ObjectBody = Uint8Array | readonly Uint8Array[];

/** Total size of a body in bytes. */
export function bodySize(body: ObjectBody): number {
  return body instanceof Uint8Array ? body.byteLength : body.reduce((sum, chunk) => sum + chunk.byteLength, 0);
}

export interface ObjectInfo {
  key: string;
  /** Size of the stored plaintext in bytes. */
  size: number;
}

export interface ListOptions {
  /** Only keys starting with this prefix. */
  prefix?: string;
  /** Only keys strictly greater than this one (lexicographic). */
  startAfter?: string;
  /** At most this many keys (default 1000). */
  limit?: number;
}

/**
 * The contract every store passes (tests/contract/object-store.ts).
 * Keys are '/'-separated, of safe characters only; they never carry document content.
 */
export interface PutOptions {
  /** The caller never reads `body` again: a store may move its memory to another thread (detaching it) instead of copying. */
  handOver?: boolean;
}

export interface ObjectStore {
  put(key: string, body: ObjectBody, options?: PutOptions): Promise<void>;
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** Whole object in memory; convenience for small objects (records, metadata). */
  getBuffer(key: string): Promise<Buffer>;
  head(key: string): Promise<ObjectInfo>;
  /** Keys in lexicographic order. */
  list(options?: ListOptions): Promise<ObjectInfo[]>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Cheap reachability probe for /readyz; throws StorageUnavailableError when down. */
  ping(): Promise<void>;
}

/** The one not-found error every store throws. */
export class ObjectNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`object not found: ${key}`);
    this.name = 'ObjectNotFoundError';
  }
}

/** The backend could not be reached or failed; callers answer 503. */
export class StorageUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageUnavailableError';
  }
}

/** A key outside the safe alphabet or shape; a programming error, never user input. */
export class InvalidKeyError extends Error {
  constructor(readonly key: string, reason: string) {
    super(`invalid object key ${JSON.stringify(key)}: ${reason}`);
    this.name = 'InvalidKeyError';
  }
}

const KEY_SEGMENT = /^[A-Za-z0-9._-]{1,200}$/;
const MAX_KEY_LENGTH = 1024;

/**
 * The one key rule every store enforces: '/'-separated segments of [A-Za-z0-9._-], no '..',
 * no '.' segment, no empty segment, at most 1024 characters; so no key can leave a directory.
 */
export function assertValidKey(key: string): void {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) throw new InvalidKeyError(key, 'must be 1 to 1024 characters');
  if (key.includes('..')) throw new InvalidKeyError(key, "must not contain '..'");
  for (const segment of key.split('/')) {
    if (!KEY_SEGMENT.test(segment)) {
      throw new InvalidKeyError(key, "segments must be 1 to 200 characters of A-Z a-z 0-9 . _ - (no empty segment, leading or trailing '/')");
    }
    if (segment === '.') throw new InvalidKeyError(key, "must not contain a '.' segment");
  }
}

/** Rejects ranges whose bounds are not non-negative safe integers. */
export function assertValidRange(range: ByteRange): void {
  const isOffset = (n: number) => Number.isSafeInteger(n) && n >= 0;
  if (!isOffset(range.start) || (range.end !== undefined && !isOffset(range.end))) {
    throw new RangeError(`Expected non-negative integers for range start/end but received ${range.start}/${range.end}`);
  }
}

/** The [start, end) a range selects from an object of `size` bytes; like Array.slice, beyond the end is empty. */
export function clipRange(range: ByteRange | undefined, size: number): { start: number; end: number } {
  if (!range) return { start: 0, end: size };
  assertValidRange(range);
  const end = Math.min(range.end ?? size, size);
  return { start: Math.min(range.start, end), end };
}
