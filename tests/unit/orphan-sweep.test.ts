import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ulid } from 'ulid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { composeStorage } from '../../src/compose.ts';
import { loadConfig } from '../../src/config.ts';
import { sweepOrphans } from '../../src/maintenance/orphan-sweep.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';
import { layout } from '../../src/storage/layout.ts';
import { leftovers } from '../support/upload-stream.ts';

const HOUR = 3_600_000;
const GRACE_MS = HOUR;
const run = promisify(execFile);

/** What a capture's commit writes, up to `stage`: blobs, then the feed entry, then the record. */
async function writeCommit(store: ObjectStore, createdAt: number, stage: 'blobs' | 'feed' | 'record'): Promise<string> {
  const id = ulid(createdAt);
  await store.put(layout.rendition(id), Buffer.from('rendition'));
  await store.put(layout.original(id, 1), Buffer.from('original'));
  if (stage === 'blobs') return id;
  await store.put(layout.feedEntry(ulid(createdAt + 10)), Buffer.from(JSON.stringify({ id })));
  if (stage === 'record') await store.put(layout.record(id), Buffer.from('{}'));
  return id;
}

async function keys(store: ObjectStore, prefix: string): Promise<string[]> {
  return (await store.list({ prefix })).map((o) => o.key);
}

describe('orphan sweep', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let storage: Awaited<ReturnType<typeof composeStorage>>;
  const sweep = (now: number) => sweepOrphans({ ...storage, graceMs: GRACE_MS, now: () => now });

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'vsc-sweep-'));
    env = { NODE_ENV: 'test', DATA_DIR: dataDir };
    storage = await composeStorage(loadConfig(env));
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  it('removes blobs and feed entries of interrupted commits once older than the grace period, and keeps committed documents', async () => {
    const now = Date.now();
    const committed = await writeCommit(storage.store, now - 2 * HOUR, 'record');
    const blobsOnly = await writeCommit(storage.store, now - 2 * HOUR, 'blobs');
    const withFeed = await writeCommit(storage.store, now - 2 * HOUR, 'feed');
    const recent = await writeCommit(storage.store, now - 60_000, 'feed');
    expect((await leftovers(storage.store)).documents.sort()).toEqual([blobsOnly, withFeed, recent].sort());

    expect(await sweep(now)).toMatchObject({ documents: 2, feedEntries: 1 });

    expect(await leftovers(storage.store)).toMatchObject({ documents: [recent] });
    expect(await keys(storage.store, layout.documentPrefix(committed))).toHaveLength(3);
    // The commit still running (younger than the grace period) keeps everything.
    expect(await keys(storage.store, layout.documentPrefix(recent))).toHaveLength(2);
  });

  it('resumes after its cursor: the next run removes what aged since, without judging older writes again', async () => {
    const now = Date.now();
    const recent = await writeCommit(storage.store, now - 60_000, 'feed');
    expect(await sweep(now)).toMatchObject({ documents: 0, feedEntries: 0 });
    expect(await sweep(now + GRACE_MS)).toMatchObject({ documents: 1, feedEntries: 1 });
    expect(await keys(storage.store, layout.documentPrefix(recent))).toEqual([]);
    // Behind the cursor now: a late write with an old id is left to the feed's own filtering.
    await writeCommit(storage.store, now - 2 * HOUR, 'blobs');
    expect(await sweep(now + GRACE_MS)).toMatchObject({ documents: 0 });
  });

  it('leaves objects under a document prefix that a commit does not write', async () => {
    const id = await writeCommit(storage.store, Date.now() - 2 * HOUR, 'blobs');
    await storage.store.put(`${layout.documentPrefix(id)}audit/1`, Buffer.from('kept'));
    expect(await sweep(Date.now())).toMatchObject({ documents: 1 });
    expect(await keys(storage.store, layout.documentPrefix(id))).toEqual([`${layout.documentPrefix(id)}audit/1`]);
  });

  it('runs as npm run sweep on the configured store and prints its counts', async () => {
    const committed = await writeCommit(storage.store, Date.now() - 2 * HOUR, 'record');
    await writeCommit(storage.store, Date.now() - 2 * HOUR, 'feed');
    const { stdout } = await run('npm', ['run', '--silent', 'sweep'], { env: { ...process.env, ...env } });
    expect(JSON.parse(stdout)).toEqual({ documents: 1, feedEntries: 1, uploads: 0, idempotencyKeys: 0 });
    expect(await leftovers(storage.store)).toEqual({ documents: [], feedEntries: [] });
    expect(await keys(storage.store, layout.documentPrefix(committed))).toHaveLength(3);
  });

  it('refuses a grace period shorter than a capture may take', () => {
    expect(() => loadConfig({ ...env, ORPHAN_GRACE_SECONDS: '100', PROCESSING_TIME_BUDGET_MS: '120000' })).toThrow(/ORPHAN_GRACE_SECONDS/);
  });
});
