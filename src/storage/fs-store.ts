import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  assertValidKey,
  clipRange,
  InvalidKeyError,
  ObjectNotFoundError,
  StorageUnavailableError,
  type ByteRange,
  type ListOptions,
  type ObjectBody,
  type ObjectInfo,
  type ObjectStore,
} from './object-store.ts';

/**
 * An object's file is its last key segment plus '~', a character keys cannot contain, so the
 * keys 'a' (file 'a~') and 'a/b' (directory 'a') coexist as they do in S3, and temporary
 * files ('~tmp-…') can never be mistaken for objects.
 */
const OBJECT_SUFFIX = '~';
const TEMP_PREFIX = '~tmp-';
const DEFAULT_LIMIT = 1000;

/** The embedded store: raw objects as files under `rootDir`, written atomically. */
export class FsStore implements ObjectStore {
  readonly rootDir: string;

  constructor(rootDir: string) {
    this.rootDir = path.resolve(rootDir);
  }

  /** Creates the root directory (0700) if missing; call once at start-up. */
  async ensureRoot(): Promise<void> {
    await mkdir(this.rootDir, { recursive: true, mode: 0o700 }).catch(unavailable('create the data directory'));
  }

  async put(key: string, body: ObjectBody): Promise<void> {
    const file = this.fileOf(key);
    const dir = path.dirname(file);
    const created = await mkdir(dir, { recursive: true, mode: 0o700 }).catch(unavailable(`write ${key}`));
    const temp = path.join(dir, TEMP_PREFIX + randomBytes(8).toString('hex'));
    try {
      await writeDurably(temp, body);
      await rename(temp, file);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      unavailable(`write ${key}`)(err);
    }
    // The rename (and any new directories) only survive a crash once their parents are synced.
    await syncDirs(created ? path.dirname(created) : dir, dir).catch(unavailable(`sync ${key}`));
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const handle = await open(this.fileOf(key), 'r').catch(this.translate(key));
    try {
      const { size } = await handle.stat();
      const { start, end } = clipRange(range, size);
      if (start === end) {
        await handle.close();
        return Readable.from([]);
      }
      return handle.createReadStream({ start, end: end - 1 });
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async getBuffer(key: string): Promise<Buffer> {
    const handle = await open(this.fileOf(key), 'r').catch(this.translate(key));
    try {
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  async head(key: string): Promise<ObjectInfo> {
    const info = await stat(this.fileOf(key)).catch(this.translate(key));
    return { key, size: info.size };
  }

  async list(options: ListOptions = {}): Promise<ObjectInfo[]> {
    const limit = options.limit ?? DEFAULT_LIMIT;
    const found: ObjectInfo[] = [];
    if (limit <= 0) return found;
    const dirKey = directoryOf(options.prefix ?? '');
    if (dirKey === undefined) return found;
    for await (const info of this.walk(path.join(this.rootDir, ...dirKey.split('/')), dirKey, options)) {
      found.push(info);
      if (found.length >= limit) break;
    }
    return found;
  }

  async delete(key: string): Promise<void> {
    await unlink(this.fileOf(key)).catch((err: unknown) => {
      if (!isMissing(err)) unavailable(`delete ${key}`)(err);
    });
  }

  async ping(): Promise<void> {
    const info = await stat(this.rootDir).catch(unavailable('reach the data directory'));
    if (!info.isDirectory()) throw new StorageUnavailableError(`data directory ${this.rootDir} is not a directory`);
    await access(this.rootDir, constants.R_OK | constants.W_OK).catch(unavailable('write to the data directory'));
  }

  private fileOf(key: string): string {
    assertValidKey(key);
    return path.join(this.rootDir, ...key.split('/')) + OBJECT_SUFFIX;
  }

  private translate(key: string): (err: unknown) => never {
    return (err) => {
      if (isMissing(err)) throw new ObjectNotFoundError(key);
      return unavailable(`read ${key}`)(err);
    };
  }

  /** Depth-first in sorted order, where a directory 'd' sorts as 'd/': that is key order. */
  private async *walk(dir: string, keyPrefix: string, options: ListOptions): AsyncGenerator<ObjectInfo> {
    const entries = await readdir(dir, { withFileTypes: true }).catch((err: unknown) => {
      if (isMissing(err)) return [];
      return unavailable('list objects')(err);
    });
    const children = entries.flatMap((entry) => {
      if (entry.isDirectory()) return [{ name: entry.name, key: `${keyPrefix}${entry.name}/`, isDir: true }];
      if (!entry.isFile() || !entry.name.endsWith(OBJECT_SUFFIX)) return [];
      return [{ name: entry.name, key: keyPrefix + entry.name.slice(0, -OBJECT_SUFFIX.length), isDir: false }];
    });
    children.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const child of children) {
      const childPath = path.join(dir, child.name);
      if (child.isDir) {
        if (subtreeMayMatch(child.key, options)) yield* this.walk(childPath, child.key, options);
      } else if (keyMatches(child.key, options)) {
        const info = await stat(childPath).catch(() => undefined);
        // A concurrent delete between readdir and stat just drops the key from this listing.
        if (info) yield { key: child.key, size: info.size };
      }
    }
  }
}

/**
 * The directory a prefix names ('' for the root, else ending in '/'), where its listing starts: the
 * directories above it are not read. Undefined when no valid key can start with the prefix.
 */
function directoryOf(prefix: string): string | undefined {
  const dirKey = prefix.slice(0, prefix.lastIndexOf('/') + 1);
  if (dirKey === '') return '';
  try {
    assertValidKey(dirKey.slice(0, -1));
  } catch (err) {
    if (err instanceof InvalidKeyError) return undefined;
    throw err;
  }
  return dirKey;
}

function keyMatches(key: string, { prefix = '', startAfter }: ListOptions): boolean {
  return key.startsWith(prefix) && (startAfter === undefined || key > startAfter);
}

/** Whether any key starting with `dirKey` (ends in '/') can pass the prefix and startAfter filters. */
function subtreeMayMatch(dirKey: string, { prefix = '', startAfter }: ListOptions): boolean {
  const prefixOverlaps = dirKey.startsWith(prefix) || prefix.startsWith(dirKey);
  const allBeforeStart = startAfter !== undefined && dirKey < startAfter && !startAfter.startsWith(dirKey);
  return prefixOverlaps && !allBeforeStart;
}

async function writeDurably(file: string, body: ObjectBody): Promise<void> {
  const handle = await open(file, 'wx', 0o600);
  try {
    await writeAll(handle, body instanceof Uint8Array ? [body] : body);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Linux's IOV_MAX: the most pieces one writev takes. */
const IOV_MAX = 1024;

/** The pieces in as few writes as the kernel takes (a sealed object comes as ~200 pieces); a short write goes on where it stopped. */
async function writeAll(handle: FileHandle, pieces: readonly Uint8Array[]): Promise<void> {
  let rest = pieces.filter((piece) => piece.byteLength > 0);
  while (rest.length > 0) {
    const batch = rest.slice(0, IOV_MAX);
    let { bytesWritten } = await handle.writev(batch);
    if (bytesWritten === 0) throw new Error('the file took no bytes');
    rest = rest.slice(batch.length);
    const unwritten: Uint8Array[] = [];
    for (const piece of batch) {
      if (bytesWritten >= piece.byteLength) bytesWritten -= piece.byteLength;
      else {
        unwritten.push(piece.subarray(bytesWritten));
        bytesWritten = 0;
      }
    }
    rest = [...unwritten, ...rest];
  }
}

/** fsyncs every directory from `top` down to `bottom` (inclusive). */
async function syncDirs(top: string, bottom: string): Promise<void> {
  const chain = [bottom];
  while (chain[0] !== top && path.dirname(chain[0]!) !== chain[0]) chain.unshift(path.dirname(chain[0]!));
  for (const dir of chain) {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function unavailable(action: string): (err: unknown) => never {
  return (err) => {
    throw new StorageUnavailableError(`filesystem store could not ${action}: ${(err as Error).message}`, { cause: err });
  };
}
