import type { ObjectInfo, ObjectStore } from './object-store.ts';

const PAGE = 1000;

/** Every object under `prefix` after `startAfter`, in key order, one listing page at a time. */
export async function* walk(store: ObjectStore, prefix: string, startAfter?: string): AsyncGenerator<ObjectInfo> {
  for (;;) {
    const page = await store.list({ prefix, startAfter, limit: PAGE });
    yield* page;
    if (page.length < PAGE) return;
    startAfter = page[page.length - 1]!.key;
  }
}
