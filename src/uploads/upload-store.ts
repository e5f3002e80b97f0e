import type { Readable } from 'node:stream';
import { DataStore, ERRORS, Upload } from '@tus/utils';
import { AppError } from '../kernel/errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { putJson, readJson } from '../storage/json.ts';
import { walk } from '../storage/walk.ts';
import { ID_PATTERN, layout } from '../storage/layout.ts';
import { checkJwePrefix } from './jwe-prefix.ts';

/** What `uploads/<id>/info` holds; written once at creation, so instances never race on it. */
interface UploadInfo {
  formatVersion: 1;
  owner: string;
  size: number;
  metadata: Record<string, string | null>;
  createdAt: string;
}

/** The stretch of one chunk object that belongs to the upload's contiguous prefix. */
interface Piece {
  key: string;
  skip: number;
  size: number;
}

export interface UploadStoreOptions {
  store: ObjectStore;
  /** Uploads, finished or not, expire this long after creation. */
  ttlMs: number;
  /** Size of each stored chunk object: the memory one PATCH holds at most. */
  chunkBytes: number;
  now?: () => number;
}

/** Metadata key through which the creating request hands the owner to create(); never stored as metadata. */
const OWNER_KEY = 'vs-capture-owner';

/** Marks `upload` as created by `sub`; the tus onUploadCreate hook returns the result as the upload's metadata. */
export function withOwner(upload: Upload, sub: string): Record<string, string | null> {
  return { ...upload.metadata, [OWNER_KEY]: sub };
}

/**
 * A tus DataStore on the (encrypted, shared) object store. The offset is never stored: it is the
 * end of the contiguous run of chunk objects `uploads/<id>/chunk/<offset>`, each written whole, so
 * any instance can continue any upload and an interrupted PATCH keeps exactly what was stored.
 */
export class ObjectUploadStore extends DataStore {
  private readonly store: ObjectStore;
  private readonly now: () => number;

  constructor(private readonly options: UploadStoreOptions) {
    super();
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.extensions = ['creation', 'creation-with-upload', 'termination', 'expiration'];
  }

  override async create(upload: Upload): Promise<Upload> {
    const { [OWNER_KEY]: owner, ...metadata } = upload.metadata ?? {};
    if (!owner) throw new Error('upload created without an owner (onUploadCreate must call withOwner)');
    if (upload.size === undefined) throw ERRORS.UNSUPPORTED_CREATION_DEFER_LENGTH_EXTENSION;
    const info: UploadInfo = { formatVersion: 1, owner, size: upload.size, metadata, createdAt: new Date(this.now()).toISOString() };
    await putJson(this.store, layout.uploadInfo(upload.id), info);
    upload.metadata = metadata;
    upload.creation_date = info.createdAt;
    return upload;
  }

  override async getUpload(id: string): Promise<Upload> {
    const info = await this.infoOrTusNotFound(id);
    const { end } = await this.contiguous(id);
    return new Upload({
      id,
      size: info.size,
      offset: end,
      metadata: info.metadata,
      creation_date: info.createdAt,
      storage: { type: 'object-store', path: layout.uploadPrefix(id) },
    });
  }

  /** Stores the body as chunk objects from `offset`; what arrived before an abort or error is kept. */
  override async write(body: Readable, id: string, offset: number): Promise<number> {
    const info = await this.infoOrTusNotFound(id);
    const { end, pieces } = await this.contiguous(id);
    if (end !== offset) throw ERRORS.INVALID_OFFSET;
    const writer = new ChunkWriter(this.store, id, info.size, this.options.chunkBytes);
    await writer.resumeAfter(pieces.at(-1), offset);
    let failure: unknown;
    try {
      // Not destroyed on a throw, so the pipeline fails with our error rather than a premature close.
      for await (const data of body.iterator({ destroyOnReturn: false })) await writer.append(data as Buffer);
    } catch (err) {
      failure = err;
    }
    // Any interruption keeps what arrived (clients resume from HEAD's offset); a refused body keeps nothing.
    if (!(failure instanceof AppError)) await writer.flush().catch((err: unknown) => (failure = err));
    if (failure instanceof AppError) await this.remove(id);
    if (failure) throw failure;
    return writer.committed;
  }

  override async remove(id: string): Promise<void> {
    // The info first: without it the chunks are orphans that deleteExpired() removes.
    await this.store.delete(layout.uploadInfo(id));
    for await (const { key } of walk(this.store, layout.uploadPrefix(id))) await this.store.delete(key);
  }

  override getExpiration(): number {
    return this.options.ttlMs;
  }

  /** Removes expired uploads and orphaned chunks; returns how many uploads were removed. */
  override async deleteExpired(): Promise<number> {
    let removed = 0;
    let previous: string | undefined;
    for await (const { key } of walk(this.store, layout.uploadsPrefix)) {
      const id = key.split('/')[1]!;
      if (id === previous) continue;
      previous = id;
      const info = await this.info(id);
      if (!info || this.expired(info)) {
        await this.remove(id);
        removed++;
      }
    }
    return removed;
  }

  /** The upload's record when `sub` owns it; anyone else is told it does not exist, so ids cannot be probed. */
  async owned(id: string, sub: string): Promise<UploadInfo> {
    const info = ID_PATTERN.test(id) ? await this.info(id) : undefined;
    if (!info || info.owner !== sub) {
      throw new AppError('not_found', {
        detail: { de: `Es gibt keinen Upload '${id}' von Ihnen. Legen Sie einen mit POST /v1/uploads an.`, en: `No upload '${id}' of yours exists. Create one with POST /v1/uploads.` },
      });
    }
    return info;
  }

  /** Refuses a finished upload whose bytes do not start like a JWE of the allowed profile, and removes it. */
  async verifyFinished(id: string): Promise<void> {
    const first = (await this.contiguous(id)).pieces[0];
    try {
      checkJwePrefix(first ? await this.readPiece(first) : Buffer.alloc(0), true);
    } catch (err) {
      await this.remove(id);
      throw err;
    }
  }

  /** The declared size (ciphertext bytes) of each upload of `owner`, before anything is read. */
  async sizes(owner: string, ids: string[]): Promise<number[]> {
    const out: number[] = [];
    for (const id of ids) out.push((await this.live(owner, id)).size);
    return out;
  }

  /** The ciphertext of each finished upload of `owner`, in order. */
  async readFinished(owner: string, ids: string[]): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for (const id of ids) out.push(await this.readOne(owner, id));
    return out;
  }

  /** Removes uploads a capture consumed. */
  async discard(owner: string, ids: string[]): Promise<void> {
    for (const id of ids) {
      await this.owned(id, owner);
      await this.remove(id);
    }
  }

  private async live(owner: string, id: string): Promise<UploadInfo> {
    const info = await this.owned(id, owner);
    if (this.expired(info)) throw new AppError('gone', { detail: { de: `Upload '${id}' ist abgelaufen; laden Sie die Datei erneut hoch.`, en: `Upload '${id}' has expired; upload the file again.` } });
    return info;
  }

  private async readOne(owner: string, id: string): Promise<Buffer> {
    const info = await this.live(owner, id);
    const { end, pieces } = await this.contiguous(id);
    if (end < info.size) {
      throw new AppError('conflict', {
        detail: {
          de: `Upload '${id}' hat ${end} von ${info.size} Bytes; schließen Sie ihn ab (tus PATCH), bevor Sie ihn verwenden.`,
          en: `Upload '${id}' has ${end} of ${info.size} bytes; finish it (tus PATCH) before referencing it.`,
        },
      });
    }
    // Copied piece by piece, so memory peaks at the upload plus one chunk.
    const whole = Buffer.allocUnsafe(info.size);
    let at = 0;
    for (const piece of pieces) at += (await this.readPiece(piece)).copy(whole, at);
    return whole;
  }

  private async readPiece(piece: Piece): Promise<Buffer> {
    return (await this.store.getBuffer(piece.key)).subarray(piece.skip, piece.skip + piece.size);
  }

  /**
   * Walks the chunk objects in offset order as far as they are contiguous. Chunks of two racing
   * writers may overlap; they hold the same bytes of the same file, so the overlap is skipped.
   */
  private async contiguous(id: string): Promise<{ end: number; pieces: Piece[] }> {
    const prefix = layout.uploadChunkPrefix(id);
    let end = 0;
    const pieces: Piece[] = [];
    for await (const { key, size } of walk(this.store, prefix)) {
      const offset = Number(key.slice(prefix.length));
      if (offset > end) break;
      if (offset + size <= end) continue;
      pieces.push({ key, skip: end - offset, size: offset + size - end });
      end = offset + size;
    }
    return { end, pieces };
  }

  private expired(info: UploadInfo): boolean {
    return Date.parse(info.createdAt) + this.options.ttlMs <= this.now();
  }

  private async infoOrTusNotFound(id: string): Promise<UploadInfo> {
    const info = await this.info(id);
    if (!info) throw ERRORS.FILE_NOT_FOUND;
    return info;
  }

  private info(id: string): Promise<UploadInfo | undefined> {
    return readJson<UploadInfo>(this.store, layout.uploadInfo(id));
  }
}

/**
 * Cuts a PATCH body into chunk objects of `chunkBytes`; each is stored whole or not at all. A short
 * last chunk is read back and extended by the next PATCH, so tiny PATCHes do not pile up objects.
 */
class ChunkWriter {
  private start = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes of `pending` that are already stored (the re-read short tail). */
  private storedBytes = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly id: string,
    private readonly size: number,
    private readonly chunkBytes: number,
  ) {}

  get committed(): number {
    return this.start + this.storedBytes;
  }

  async resumeAfter(last: Piece | undefined, offset: number): Promise<void> {
    this.start = offset;
    if (!last || last.skip !== 0 || last.size >= this.chunkBytes) return;
    const tail = await this.store.getBuffer(last.key);
    this.start = offset - tail.length;
    this.pending = [tail];
    this.pendingBytes = this.storedBytes = tail.length;
  }

  async append(data: Buffer): Promise<void> {
    let rest = data;
    while (rest.length > 0) {
      const take = Math.min(rest.length, this.chunkBytes - this.pendingBytes);
      this.pending.push(rest.subarray(0, take));
      this.pendingBytes += take;
      rest = rest.subarray(take);
      if (this.pendingBytes === this.chunkBytes) await this.flush();
    }
  }

  /** Stores the pending bytes as one object; a no-op when nothing new arrived. */
  async flush(): Promise<void> {
    if (this.pendingBytes === this.storedBytes) return;
    const body = Buffer.concat(this.pending, this.pendingBytes);
    if (this.start === 0) checkJwePrefix(body, body.length === this.size);
    await this.store.put(layout.uploadChunk(this.id, this.start), body);
    if (this.pendingBytes === this.chunkBytes) {
      this.start += this.pendingBytes;
      this.pending = [];
      this.pendingBytes = this.storedBytes = 0;
    } else {
      this.pending = [body];
      this.storedBytes = this.pendingBytes;
    }
  }
}
