import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyKeys } from '../../src/documents/idempotency.ts';
import type { NewDocument } from '../../src/metadata/metadata-store.ts';
import { freshMetadataStore, METADATA_BACKENDS, type TestMetadata } from '../../testkit/database.ts';

const LEASE_MS = 60_000;
const TTL_MS = 24 * 3_600_000;

describe.each(METADATA_BACKENDS)('IdempotencyKeys on %s', (backend) => {
  let t: TestMetadata;
  let clock: number;
  let keys: IdempotencyKeys;

  beforeAll(async () => {
    t = await freshMetadataStore(backend);
    clock = 1_000_000;
    keys = new IdempotencyKeys(t.store, TTL_MS, LEASE_MS, () => clock);
  });
  afterAll(() => t.store.close());

  /** What a capture's commit does with its claim: the document and the claim's completion in one transaction. */
  async function commit(id: string, keyHash: string): Promise<void> {
    const doc: NewDocument = {
      id,
      unit: 'BA-Nord',
      createdAt: new Date(clock).toISOString(),
      reviewStatus: 'pending',
      pageCount: 1,
      sizeBytes: 1,
      body: Buffer.from('{}'),
      search: { title: 'x' },
    };
    await t.store.commitDocument(doc, keyHash);
  }

  it('replays a committed request and refuses the same key with another request', async () => {
    const id = ulid();
    const claim = await keys.claim('u1', 'k1', 'fp-a', id);
    if (claim.kind !== 'claimed') throw new Error('expected a claim');
    await commit(id, claim.keyHash);
    expect(await keys.claim('u1', 'k1', 'fp-a', ulid())).toEqual({ kind: 'replay', documentId: id });
    await expect(keys.claim('u1', 'k1', 'fp-other', ulid())).rejects.toMatchObject({ code: 'idempotency_conflict' });
  });

  it('answers "in progress" while the first request holds its lease, and lets a retry take over after it', async () => {
    await keys.claim('u1', 'k2', 'fp', ulid());
    await expect(keys.claim('u1', 'k2', 'fp', ulid())).rejects.toMatchObject({ code: 'idempotency_in_progress' });
    clock += LEASE_MS + 1;
    expect((await keys.claim('u1', 'k2', 'fp', ulid())).kind).toBe('claimed');
  });

  it('lets a retry go on at once after the first request failed without committing', async () => {
    const claim = await keys.claim('u1', 'k4', 'fp', ulid());
    if (claim.kind === 'claimed') await claim.release();
    expect((await keys.claim('u1', 'k4', 'fp', ulid())).kind).toBe('claimed');
  });

  it('scopes keys per user and forgets them after their time to live', async () => {
    const id = ulid();
    const claim = await keys.claim('u1', 'k5', 'fp', id);
    if (claim.kind === 'claimed') await commit(id, claim.keyHash);
    expect((await keys.claim('u2', 'k5', 'fp', ulid())).kind).toBe('claimed');
    clock += TTL_MS + 1;
    expect(await keys.sweepExpired()).toBeGreaterThanOrEqual(2);
    expect((await keys.claim('u1', 'k5', 'fp', ulid())).kind).toBe('claimed');
  });

  it('refuses keys that are empty, too long or not visible ASCII', async () => {
    for (const bad of ['', 'x'.repeat(256), 'mit Leerzeichen', 'ümlaut']) {
      await expect(keys.claim('u1', bad, 'fp', ulid())).rejects.toMatchObject({ code: 'bad_request' });
    }
  });
});
