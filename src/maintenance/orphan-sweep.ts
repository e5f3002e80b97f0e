/**
 * The orphan sweep: removes what interrupted writes (storage outages, crashes) leave behind. A
 * capture writes blobs, then a feed entry, then the record; anything of an id older than the grace
 * period without its record is an abandoned commit. A cursor in the store remembers how far the
 * sweep got, so each run reads only what was written since the last one.
 */
import { decodeTime } from 'ulid';
import type { IdempotencyKeys } from '../idempotency.ts';
import { ObjectNotFoundError, type ObjectStore } from '../storage/object-store.ts';
import { ID_PATTERN, layout, ulidFloor } from '../storage/layout.ts';
import type { ObjectUploadStore } from '../uploads/upload-store.ts';
import { walk } from '../storage/walk.ts';

export interface OrphanSweepDeps {
  store: ObjectStore;
  idempotency: Pick<IdempotencyKeys, 'sweepExpired'>;
  uploads: Pick<ObjectUploadStore, 'deleteExpired'>;
  /** Writes younger than this are left alone: their commit may still be running. */
  graceMs: number;
  now?: () => number;
}

export interface SweepReport {
  /** Abandoned documents whose blobs were removed. */
  documents: number;
  /** Feed entries without a record that were removed. */
  feedEntries: number;
  uploads: number;
  idempotencyKeys: number;
}

/** How far earlier runs got: every id/sequence below these was examined. */
interface SweepCursor {
  documentsAfter?: string;
  feedAfter?: string;
}

/** One sweep over documents, feed, uploads and idempotency keys; safe to run on several instances at once. */
export async function sweepOrphans(deps: OrphanSweepDeps): Promise<SweepReport> {
  const now = (deps.now ?? Date.now)();
  // Every id below the horizon is older than the grace period.
  const horizon = ulidFloor(now - deps.graceMs);
  const cursor = await readCursor(deps.store, now);
  const documents = await sweepDocuments(deps.store, cursor.documentsAfter, horizon);
  const feedEntries = await sweepFeed(deps.store, cursor.feedAfter, horizon);
  await deps.store.put(layout.sweepCursor, Buffer.from(JSON.stringify({ documentsAfter: horizon, feedAfter: horizon } satisfies SweepCursor)));
  return {
    documents,
    feedEntries,
    uploads: await deps.uploads.deleteExpired(),
    idempotencyKeys: await deps.idempotency.sweepExpired(),
  };
}

/** Removes the blobs of documents between `after` and `horizon` that have no record. */
async function sweepDocuments(store: ObjectStore, after: string | undefined, horizon: string): Promise<number> {
  let removed = 0;
  let current: { id: string; blobs: string[]; committed: boolean } | undefined;
  const finish = async () => {
    if (current && !current.committed && current.blobs.length > 0) {
      await Promise.all(current.blobs.map((key) => store.delete(key)));
      removed++;
    }
  };
  const start = after ? layout.documentPrefix(after) + '~' : undefined;
  for await (const { key } of walk(store, layout.documentsPrefix, start)) {
    const id = key.slice(layout.documentsPrefix.length).split('/')[0]!;
    if (id >= horizon) break;
    if (id !== current?.id) {
      await finish();
      current = { id, blobs: [], committed: false };
    }
    if (key === layout.record(id)) current.committed = true;
    else if (isCommitBlob(id, key)) current.blobs.push(key);
  }
  await finish();
  return removed;
}

/** Only what a capture's commit writes: other objects under a document's prefix are not ours to judge. */
function isCommitBlob(id: string, key: string): boolean {
  return ID_PATTERN.test(id) && (key === layout.rendition(id) || key.startsWith(layout.originalsPrefix(id)));
}

/** Removes feed entries between `after` and `horizon` whose document has no record. */
async function sweepFeed(store: ObjectStore, after: string | undefined, horizon: string): Promise<number> {
  let removed = 0;
  for await (const { key } of walk(store, layout.feedPrefix, after ? layout.feedEntry(after) : undefined)) {
    if (key.slice(layout.feedPrefix.length) >= horizon) break;
    const id = await feedEntryId(store, key);
    if (id !== undefined && (await exists(store, layout.record(id)))) continue;
    await store.delete(key);
    removed++;
  }
  return removed;
}

async function feedEntryId(store: ObjectStore, key: string): Promise<string | undefined> {
  const entry = await readJson<{ id?: unknown }>(store, key);
  return typeof entry?.id === 'string' && ID_PATTERN.test(entry.id) ? entry.id : undefined;
}

async function readCursor(store: ObjectStore, now: number): Promise<SweepCursor> {
  const cursor = (await readJson<SweepCursor>(store, layout.sweepCursor)) ?? {};
  // A cursor from a clock far in the future would hide every later orphan: ignore it.
  const valid = (id: string | undefined) => (id && ID_PATTERN.test(id) && decodeTime(id) <= now ? id : undefined);
  return { documentsAfter: valid(cursor.documentsAfter), feedAfter: valid(cursor.feedAfter) };
}

async function readJson<T>(store: ObjectStore, key: string): Promise<T | undefined> {
  try {
    return JSON.parse((await store.getBuffer(key)).toString('utf8')) as T;
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return undefined;
    throw err;
  }
}

async function exists(store: ObjectStore, key: string): Promise<boolean> {
  try {
    await store.head(key);
    return true;
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return false;
    throw err;
  }
}
