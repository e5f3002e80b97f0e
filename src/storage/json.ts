/** The object stores' JSON idiom: one not-found translation (absent object → undefined) and one way to write. */
import { ObjectNotFoundError, type ObjectStore } from './object-store.ts';

export async function readJson<T>(store: ObjectStore, key: string): Promise<T | undefined> {
  try {
    return JSON.parse((await store.getBuffer(key)).toString('utf8')) as T;
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return undefined;
    throw err;
  }
}

export function putJson(store: ObjectStore, key: string, value: unknown): Promise<void> {
  return store.put(key, Buffer.from(JSON.stringify(value)));
}
