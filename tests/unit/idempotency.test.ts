import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IdempotencyKeys } from '../../src/idempotency.ts';
import { FsStore } from '../../src/storage/fs-store.ts';

const LEASE_MS = 60_000;

describe('IdempotencyKeys', () => {
  let dir: string;
  let clock: number;
  let keys: IdempotencyKeys;
  const committedIds = new Set<string>();
  const committed = async (id: string) => committedIds.has(id);

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vsc-idem-'));
    const store = new FsStore(dir);
    await store.ensureRoot();
    clock = 1_000_000;
    committedIds.clear();
    keys = new IdempotencyKeys(store, 24 * 3_600_000, LEASE_MS, () => clock);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('replays a completed request and refuses the same key with another request', async () => {
    const claim = await keys.claim('u1', 'k1', 'fp-a', 'DOC-A', committed);
    expect(claim.kind).toBe('claimed');
    if (claim.kind === 'claimed') await claim.complete();
    expect(await keys.claim('u1', 'k1', 'fp-a', 'DOC-B', committed)).toEqual({ kind: 'replay', documentId: 'DOC-A' });
    await expect(keys.claim('u1', 'k1', 'fp-other', 'DOC-C', committed)).rejects.toMatchObject({ code: 'idempotency_conflict' });
  });

  it('answers "in progress" while the first request holds its lease, and lets a retry take over after it', async () => {
    await keys.claim('u1', 'k2', 'fp', 'DOC-A', committed);
    await expect(keys.claim('u1', 'k2', 'fp', 'DOC-B', committed)).rejects.toMatchObject({ code: 'idempotency_in_progress' });
    clock += LEASE_MS + 1;
    expect((await keys.claim('u1', 'k2', 'fp', 'DOC-B', committed)).kind).toBe('claimed');
  });

  it('finds a document that committed although its request never completed the claim (answer lost, crash)', async () => {
    await keys.claim('u1', 'k3', 'fp', 'DOC-A', committed);
    committedIds.add('DOC-A');
    expect(await keys.claim('u1', 'k3', 'fp', 'DOC-B', committed)).toEqual({ kind: 'replay', documentId: 'DOC-A' });
  });

  it('lets a retry go on at once after the first request failed without committing', async () => {
    const claim = await keys.claim('u1', 'k4', 'fp', 'DOC-A', committed);
    if (claim.kind === 'claimed') await claim.release();
    expect((await keys.claim('u1', 'k4', 'fp', 'DOC-B', committed)).kind).toBe('claimed');
  });

  it('scopes keys per user and forgets them after their time to live', async () => {
    const claim = await keys.claim('u1', 'k5', 'fp', 'DOC-A', committed);
    if (claim.kind === 'claimed') await claim.complete();
    expect((await keys.claim('u2', 'k5', 'fp', 'DOC-B', committed)).kind).toBe('claimed');
    clock += 24 * 3_600_000 + 1;
    expect(await keys.sweepExpired()).toBe(2);
    expect((await keys.claim('u1', 'k5', 'fp', 'DOC-C', committed)).kind).toBe('claimed');
  });

  it('refuses keys that are empty, too long or not visible ASCII', async () => {
    for (const bad of ['', 'x'.repeat(256), 'mit Leerzeichen', 'ümlaut']) {
      await expect(keys.claim('u1', bad, 'fp', 'DOC', committed)).rejects.toMatchObject({ code: 'bad_request' });
    }
  });
});
