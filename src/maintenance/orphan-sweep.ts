/**
 * The orphan sweep: removes what interrupted writes (storage or database outages, crashes) leave
 * behind. A capture writes its blobs, then commits its row in the metadata database; blobs of an id
 * older than the grace period without a row are an abandoned commit (or the rest of an interrupted
 * deletion). A cursor in the store remembers how far the sweep got, so each run reads only what was
 * written since the last one.
 */
import { decodeTime } from 'ulid';
import type { IdempotencyKeys } from '../documents/idempotency.ts';
import type { MetadataStore } from '../metadata/metadata-store.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { putJson, readJson } from '../storage/json.ts';
import { ID_PATTERN, layout, ulidFloor } from '../storage/layout.ts';
import type { ObjectUploadStore } from '../uploads/upload-store.ts';
import { walk } from '../storage/walk.ts';

export interface OrphanSweepDeps {
  store: ObjectStore;
  metadata: Pick<MetadataStore, 'isCommitted'>;
  idempotency: Pick<IdempotencyKeys, 'sweepExpired'>;
  uploads: Pick<ObjectUploadStore, 'deleteExpired'>;
  /** Writes younger than this are left alone: their commit may still be running. */
  graceMs: number;
  now?: () => number;
}

export interface SweepReport {
  /** Abandoned documents whose blobs were removed. */
  documents: number;
  uploads: number;
  idempotencyKeys: number;
}

/** How far earlier runs got: every id below this was examined. */
interface SweepCursor {
  documentsAfter?: string;
}

/** One sweep over blobs, uploads and idempotency keys; safe to run on several instances at once. */
export async function sweepOrphans(deps: OrphanSweepDeps): Promise<SweepReport> {
  const now = (deps.now ?? Date.now)();
  // Every id below the horizon is older than the grace period.
  const horizon = ulidFloor(now - deps.graceMs);
  const cursor = await readCursor(deps.store, now);
  const documents = await sweepDocuments(deps, cursor.documentsAfter, horizon);
  await putJson(deps.store, layout.sweepCursor, { documentsAfter: horizon } satisfies SweepCursor);
  return {
    documents,
    uploads: await deps.uploads.deleteExpired(),
    idempotencyKeys: await deps.idempotency.sweepExpired(),
  };
}

/** Removes the blobs of documents between `after` and `horizon` that have no committed row. */
async function sweepDocuments({ store, metadata }: OrphanSweepDeps, after: string | undefined, horizon: string): Promise<number> {
  let removed = 0;
  let current: { id: string; blobs: string[] } | undefined;
  const finish = async () => {
    if (current && current.blobs.length > 0 && !(await metadata.isCommitted(current.id))) {
      await Promise.all(current.blobs.map((key) => store.delete(key)));
      removed++;
    }
  };
  // Key order is id order, so the walk from the cursor opens only the time shards written since.
  const start = after ? layout.documentPrefix(after) + '~' : undefined;
  const end = layout.documentPrefix(horizon);
  for await (const { key } of walk(store, layout.documentsPrefix, start)) {
    if (key >= end) break;
    const id = layout.documentIdOf(key);
    if (id !== current?.id) {
      await finish();
      current = { id, blobs: [] };
    }
    if (isCommitBlob(id, key)) current.blobs.push(key);
  }
  await finish();
  return removed;
}

/** Only what a capture's commit (or its OCR job) writes: other objects under a document's prefix are not ours to judge. */
function isCommitBlob(id: string, key: string): boolean {
  return ID_PATTERN.test(id) && (key === layout.rendition(id) || key === layout.textRendition(id) || key.startsWith(layout.originalsPrefix(id)));
}

async function readCursor(store: ObjectStore, now: number): Promise<SweepCursor> {
  const cursor = (await readJson<SweepCursor>(store, layout.sweepCursor)) ?? {};
  // A cursor from a clock far in the future would hide every later orphan: ignore it.
  const valid = (id: string | undefined) => (id && ID_PATTERN.test(id) && decodeTime(id) <= now ? id : undefined);
  return { documentsAfter: valid(cursor.documentsAfter) };
}

