import type { Readable } from 'node:stream';

/** A byte range, inclusive start, exclusive end (like Array.slice). */
export interface ByteRange {
  start: number;
  end?: number;
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
export interface ObjectStore {
  put(key: string, body: Buffer | Uint8Array): Promise<void>;
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

/** Stored bytes failed authentication: flipped bit, truncation or unknown/wrong key. */
export class IntegrityError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IntegrityError';
  }
}
