import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ulid } from 'ulid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { composeStorage, type Storage } from '../../src/compose.ts';
import { loadConfig } from '../../src/config.ts';
import { sweepOrphans } from '../../src/maintenance/orphan-sweep.ts';
import { sweepIfOurTurn } from '../../src/maintenance/scheduled-sweep.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';
import { layout } from '../../src/storage/layout.ts';
import { freshDatabaseUrl } from '../../testkit/database.ts';
import { leftovers } from '../support/upload-stream.ts';

const HOUR = 3_600_000;
const GRACE_MS = HOUR;
const run = promisify(execFile);

/** What a capture's commit writes, up to `stage`: blobs, then the row in the database. */
async function writeCommit(storage: Storage, createdAt: number, stage: 'blobs' | 'committed'): Promise<string> {
  const id = ulid(createdAt);
  await storage.store.put(layout.rendition(id), Buffer.from('rendition'));
  await storage.store.put(layout.original(id, 1), Buffer.from('original'));
  if (stage === 'committed') {
    await storage.metadata.commitDocument({
      id,
      unit: 'BA-Nord',
      createdAt: new Date(createdAt).toISOString(),
      reviewStatus: 'pending',
      pageCount: 1,
      sizeBytes: 17,
      body: Buffer.from('{}'),
      search: { title: 't' },
    });
  }
  return id;
}

async function keys(store: ObjectStore, prefix: string): Promise<string[]> {
  return (await store.list({ prefix })).map((o) => o.key);
}

describe('orphan sweep', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let storage: Storage;
  const sweep = (now: number) => sweepOrphans({ ...storage, graceMs: GRACE_MS, now: () => now });

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'vsc-sweep-'));
    env = { NODE_ENV: 'test', DATA_DIR: dataDir, DATABASE_URL: await freshDatabaseUrl() };
    storage = await composeStorage(loadConfig(env));
  });
  afterEach(async () => {
    await storage.metadata.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('removes blobs of interrupted commits once older than the grace period, and keeps committed documents', async () => {
    const now = Date.now();
    const committed = await writeCommit(storage, now - 2 * HOUR, 'committed');
    const blobsOnly = await writeCommit(storage, now - 2 * HOUR, 'blobs');
    const other = await writeCommit(storage, now - 2 * HOUR, 'blobs');
    const recent = await writeCommit(storage, now - 60_000, 'blobs');
    expect((await leftovers(storage.store, storage.metadata)).sort()).toEqual([blobsOnly, other, recent].sort());

    expect(await sweep(now)).toMatchObject({ documents: 2 });

    expect(await leftovers(storage.store, storage.metadata)).toEqual([recent]);
    expect(await keys(storage.store, layout.documentPrefix(committed))).toHaveLength(2);
    // The commit still running (younger than the grace period) keeps everything.
    expect(await keys(storage.store, layout.documentPrefix(recent))).toHaveLength(2);
  });

  it('resumes after its cursor: the next run removes what aged since, without judging older writes again', async () => {
    const now = Date.now();
    const recent = await writeCommit(storage, now - 60_000, 'blobs');
    expect(await sweep(now)).toMatchObject({ documents: 0 });
    expect(await sweep(now + GRACE_MS)).toMatchObject({ documents: 1 });
    expect(await keys(storage.store, layout.documentPrefix(recent))).toEqual([]);
    // Behind the cursor now: a late write with an old id is not judged again (no commit writes one).
    await writeCommit(storage, now - 2 * HOUR, 'blobs');
    expect(await sweep(now + GRACE_MS)).toMatchObject({ documents: 0 });
  });

  it('leaves objects under a document prefix that a commit does not write', async () => {
    const id = await writeCommit(storage, Date.now() - 2 * HOUR, 'blobs');
    await storage.store.put(`${layout.documentPrefix(id)}audit/1`, Buffer.from('kept'));
    expect(await sweep(Date.now())).toMatchObject({ documents: 1 });
    expect(await keys(storage.store, layout.documentPrefix(id))).toEqual([`${layout.documentPrefix(id)}audit/1`]);
  });

  it('runs as npm run sweep on the configured storage and prints its counts', async () => {
    const committed = await writeCommit(storage, Date.now() - 2 * HOUR, 'committed');
    await writeCommit(storage, Date.now() - 2 * HOUR, 'blobs');
    const { stdout } = await run('npm', ['run', '--silent', 'sweep'], { env: { ...process.env, ...env } });
    expect(JSON.parse(stdout)).toEqual({ documents: 1, uploads: 0, idempotencyKeys: 0 });
    expect(await leftovers(storage.store, storage.metadata)).toEqual([]);
    expect(await keys(storage.store, layout.documentPrefix(committed))).toHaveLength(2);
  });

  it('runs once per interval across instances: the instance holding the lease sweeps, the others skip', async () => {
    const now = Date.now();
    await writeCommit(storage, now - 2 * HOUR, 'blobs');
    const turn = (holder: string, at: number) => sweepIfOurTurn({ ...storage, leases: storage.metadata, holder, intervalMs: HOUR, graceMs: GRACE_MS, now: () => at });
    const [first, second] = await Promise.all([turn('instance-a', now), turn('instance-b', now)]);
    expect([first, second].filter((r) => r !== undefined)).toEqual([expect.objectContaining({ documents: 1 })]);
    expect(await turn('instance-b', now + 0.5 * HOUR)).toBeUndefined();
    expect(await turn('instance-b', now + HOUR)).toMatchObject({ documents: 0 });
  });

  it('refuses a grace period shorter than a capture may take', () => {
    expect(() => loadConfig({ ...env, ORPHAN_GRACE_SECONDS: '100', PROCESSING_TIME_BUDGET_MS: '120000' })).toThrow(/ORPHAN_GRACE_SECONDS/);
  });
});
