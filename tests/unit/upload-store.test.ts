import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Upload } from '@tus/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsStore } from '../../src/storage/fs-store.ts';
import { layout } from '../../src/storage/layout.ts';
import { ObjectUploadStore, withOwner } from '../../src/uploads/upload-store.ts';

/** A JWE-shaped body: a valid protected header, then filler bytes standing in for the rest. */
function jweLike(size: number): Buffer {
  const header = Buffer.from(JSON.stringify({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: 'k' })).toString('base64url');
  const body = Buffer.alloc(size, 'A');
  body.write(`${header}.`);
  for (let i = header.length + 1; i < size; i++) body[i] = 65 + (i % 26);
  return body;
}

describe('ObjectUploadStore', () => {
  let dir: string;
  let store: FsStore;
  let uploads: ObjectUploadStore;
  const CHUNK = 1024;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vsc-upload-store-'));
    store = new FsStore(dir);
    uploads = new ObjectUploadStore({ store, ttlMs: 3_600_000, chunkBytes: CHUNK });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function create(id: string, size: number): Promise<void> {
    const upload = new Upload({ id, size, offset: 0, metadata: { filetype: 'application/jose' } });
    upload.metadata = withOwner(upload, 'u1');
    await uploads.create(upload);
  }

  it('merges many tiny PATCHes into whole chunk objects and reads back the exact bytes', async () => {
    const id = '01JD3Z0J3T3X4Q8V5N2M7K9R6A';
    const bytes = jweLike(3000);
    await create(id, bytes.length);
    let offset = 0;
    for (let at = 0; at < bytes.length; at += 100) offset = await uploads.write(Readable.from([bytes.subarray(at, at + 100)]), id, offset);
    expect(offset).toBe(3000);
    const keys = (await store.list({ prefix: layout.uploadChunkPrefix(id) })).map((o) => o.key);
    expect(keys).toEqual([layout.uploadChunk(id, 0), layout.uploadChunk(id, 1024), layout.uploadChunk(id, 2048)]);
    expect((await uploads.readFinished('u1', [id]))[0]).toEqual(bytes);
  });

  it('keeps what arrived before a body fails, and resumes from there', async () => {
    const id = '01JD3Z0J3T3X4Q8V5N2M7K9R6B';
    const bytes = jweLike(2500);
    await create(id, bytes.length);
    const failing = Readable.from(
      (async function* () {
        yield bytes.subarray(0, 1500);
        throw new Error('connection reset');
      })(),
    );
    await expect(uploads.write(failing, id, 0)).rejects.toThrow('connection reset');
    expect((await uploads.getUpload(id)).offset).toBe(1500);
    await uploads.write(Readable.from([bytes.subarray(1500)]), id, 1500);
    expect((await uploads.readFinished('u1', [id]))[0]).toEqual(bytes);
  });

  it('tolerates overlapping chunks of two racing writers and stops at a gap', async () => {
    const id = '01JD3Z0J3T3X4Q8V5N2M7K9R6C';
    const bytes = jweLike(3000);
    await create(id, bytes.length);
    await store.put(layout.uploadChunk(id, 0), bytes.subarray(0, 1024));
    await store.put(layout.uploadChunk(id, 600), bytes.subarray(600, 2000));
    await store.put(layout.uploadChunk(id, 2500), bytes.subarray(2500));
    expect((await uploads.getUpload(id)).offset).toBe(2000);
    await uploads.write(Readable.from([bytes.subarray(2000)]), id, 2000);
    expect((await uploads.readFinished('u1', [id]))[0]).toEqual(bytes);
  });
});
