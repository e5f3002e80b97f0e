/**
 * A stream of encrypted captures against a service process, and the checks every fault test makes
 * afterwards: each acknowledged document is intact, every refusal is a proper 503, nothing half
 * written is listed, and what is left over in the store is exactly what the orphan sweep removes.
 */
import { randomUUID } from 'node:crypto';
import type { JWK } from 'jose';
import { expect } from 'vitest';
import { jpegWithMarker, newMarker } from '../../testkit/capture-fixtures.ts';
import { encryptedCapture, feedIds, postCapture, readBack, sha256 } from '../../testkit/service-client.ts';
import { composeStorage } from '../../src/compose.ts';
import { loadConfig } from '../../src/config.ts';
import { sweepOrphans } from '../../src/maintenance/orphan-sweep.ts';
import type { MetadataStore } from '../../src/metadata/metadata-store.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';
import { layout } from '../../src/storage/layout.ts';
import { walk } from '../../src/storage/walk.ts';

export interface UploadOutcome {
  /** HTTP status, or undefined when the connection failed (a killed service). */
  status: number | undefined;
  id?: string;
  originalSha256: string;
  contentType?: string | null;
  retryAfter?: string | null;
  problemStatus?: number;
}

export interface UploadStream {
  /** Resolves once `count` more answers than now satisfy `which` (e.g. two more 201s), however long that takes. */
  answered(which: (o: UploadOutcome) => boolean, count: number): Promise<void>;
  /** Resolves once every worker has a request on the wire (so a fault now cuts requests off). */
  allInFlight(): Promise<void>;
  /** Stops sending new uploads and waits for those in flight. */
  finish(): Promise<UploadOutcome[]>;
}

/** `workers` clients each send captures (a fresh photo each, with an Idempotency-Key) back to back until finished. */
export function startUploadStream(target: { url: () => string; token: () => string; key: JWK }, workers: number): UploadStream {
  const outcomes: UploadOutcome[] = [];
  const waiters = new Set<() => void>();
  let inFlight = 0;
  let running = true;
  const changed = () => waiters.forEach((check) => check());
  const worker = async () => {
    while (running) {
      const outcome = await uploadOnce(target.url(), target.token(), target.key, (sending) => {
        inFlight += sending ? 1 : -1;
        changed();
      });
      outcomes.push(outcome);
      changed();
    }
  };
  const until = (condition: () => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (!condition()) return;
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    });
  const all = Promise.all(Array.from({ length: workers }, worker));
  return {
    answered(which, count) {
      const target = outcomes.filter(which).length + count;
      return until(() => outcomes.filter(which).length >= target);
    },
    allInFlight: () => until(() => inFlight === workers),
    async finish() {
      running = false;
      await all;
      return outcomes;
    },
  };
}

async function uploadOnce(url: string, token: string, key: JWK, sending: (on: boolean) => void): Promise<UploadOutcome> {
  const photo = await jpegWithMarker(newMarker(), 320, 240);
  const originalSha256 = sha256(photo);
  const form = await encryptedCapture(key, 'Fault test', [photo]);
  sending(true);
  try {
    const res = await postCapture(url, token, form, randomUUID());
    const body = (await res.json().catch(() => ({}))) as { id?: string; status?: number };
    return {
      status: res.status,
      originalSha256,
      contentType: res.headers.get('content-type'),
      retryAfter: res.headers.get('retry-after'),
      ...(res.status === 201 ? { id: body.id } : { problemStatus: body.status }),
    };
  } catch {
    return { status: undefined, originalSha256 };
  } finally {
    sending(false);
  }
}

/** Every 201 is readable and byte-intact, every other answer is 503 problem+json with Retry-After. */
export async function expectAcknowledgedIntact(url: string, token: string, outcomes: UploadOutcome[], allowConnectionErrors: boolean): Promise<void> {
  for (const outcome of outcomes.filter((o) => o.status !== 201)) {
    if (outcome.status === undefined && allowConnectionErrors) continue;
    expect(outcome).toMatchObject({ status: 503, problemStatus: 503, contentType: expect.stringMatching(/^application\/problem\+json/), retryAfter: expect.stringMatching(/^\d+$/) });
  }
  for (const outcome of outcomes.filter((o) => o.status === 201)) {
    const { originals } = await readBack(url, token, outcome.id!);
    expect(originals, `original of ${outcome.id}`).toEqual([outcome.originalSha256]);
  }
}

/** The feed lists every acknowledged document, and each listed one is whole (record, rendition, originals). */
export async function expectFeedWhole(url: string, token: string, outcomes: UploadOutcome[]): Promise<void> {
  const listed = await feedIds(url, token);
  expect(listed).toEqual(expect.arrayContaining(outcomes.filter((o) => o.status === 201).map((o) => o.id)));
  for (const id of new Set(listed)) await readBack(url, token, id);
}

/** Uncommitted leftovers: ids with blobs in the store but no committed row in the database. */
export async function leftovers(store: ObjectStore, metadata: Pick<MetadataStore, 'isCommitted'>): Promise<string[]> {
  const ids = new Set<string>();
  for await (const { key } of walk(store, layout.documentsPrefix)) ids.add(layout.documentIdOf(key));
  const uncommitted: string[] = [];
  for (const id of ids) if (!(await metadata.isCommitted(id))) uncommitted.push(id);
  return uncommitted;
}

/** Runs the sweep on the service's storage as it will once the grace period is over: it removes exactly the leftovers. */
export async function expectSweepRemovesLeftovers(serviceEnv: Record<string, string>): Promise<void> {
  const storage = await composeStorage(loadConfig({ ...serviceEnv, NODE_ENV: 'test' }));
  try {
    const before = await leftovers(storage.store, storage.metadata);
    const graceMs = 3_600_000;
    const report = await sweepOrphans({ ...storage, graceMs, now: () => Date.now() + graceMs + 1000 });
    expect(report).toMatchObject({ documents: before.length });
    expect(await leftovers(storage.store, storage.metadata)).toEqual([]);
  } finally {
    await storage.metadata.close();
  }
}
