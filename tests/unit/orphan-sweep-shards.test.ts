/**
 * The incremental sweep's cost on the filesystem store: which directories it reads. Every readdir of
 * the store is recorded (passed through to the real one), so the test sees what a listing opens.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ulid } from 'ulid';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { composeStorage, type Storage } from '../../src/compose.ts';
import { loadConfig } from '../../src/config.ts';
import { sweepOrphans } from '../../src/maintenance/orphan-sweep.ts';
import { layout } from '../../src/storage/layout.ts';
import { freshDatabaseUrl } from '../../testkit/database.ts';

const read = vi.hoisted(() => ({ dirs: [] as string[] }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const readdir = (async (dir: string, ...rest: unknown[]) => {
    read.dirs.push(String(dir));
    return (real.readdir as (...args: unknown[]) => Promise<unknown>)(dir, ...rest);
  }) as typeof real.readdir;
  return { ...real, default: { ...real, readdir }, readdir };
});

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const GRACE_MS = HOUR;

describe('incremental orphan sweep on the filesystem store', () => {
  let dataDir: string;
  let storage: Storage;
  const sweep = (now: number) => sweepOrphans({ ...storage, graceMs: GRACE_MS, now: () => now });

  /** Blobs as a capture writes them; with `committed`, its row too. */
  async function capture(createdAt: number, committed: boolean): Promise<string[]> {
    const id = ulid(createdAt);
    const keys = [layout.rendition(id), layout.original(id, 1)];
    for (const key of keys) await storage.store.put(key, Buffer.from('blob'));
    if (committed) {
      const document = { id, unit: 'BA-Nord', createdAt: new Date(createdAt).toISOString(), reviewStatus: 'pending' as const, pageCount: 1, sizeBytes: 4 };
      await storage.metadata.commitDocument({ ...document, body: Buffer.from('{}'), search: { title: 't' } });
    }
    return keys;
  }

  /** The store's directories that `run` reads, as key prefixes ('' for the store's root, else ending in '/'). */
  async function dirsRead(run: () => Promise<unknown>): Promise<string[]> {
    const objects = path.join(dataDir, 'objects');
    read.dirs.length = 0;
    await run();
    const inStore = read.dirs.map((dir) => path.relative(objects, dir)).filter((rel) => !rel.startsWith('..'));
    return [...new Set(inStore.map((rel) => (rel === '' ? '' : `${rel.split(path.sep).join('/')}/`)))].sort();
  }

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'vsc-sweep-shards-'));
    storage = await composeStorage(loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, DATABASE_URL: await freshDatabaseUrl() }));
  });
  afterEach(async () => {
    await storage.metadata.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('opens only the directories of what was written since its last run, however much is older', async () => {
    const now = Date.now();
    // An archive of 60 days: committed documents in many older shards, and one abandoned capture among them.
    const old: string[] = [];
    for (let age = 60 * DAY; age > 2 * HOUR; age -= DAY / 2) old.push(...(await capture(now - age, true)));
    await capture(now - 3 * DAY, false);
    expect(await sweep(now)).toMatchObject({ documents: 1 });

    // Written since: the last run's grace period and after.
    const recent = [...(await capture(now - 30 * 60_000, true)), ...(await capture(now - 20 * 60_000, false)), ...(await capture(now + 10 * 60_000, false))];
    const dirs = await dirsRead(async () => expect(await sweep(now + 2 * HOUR)).toMatchObject({ documents: 2 }));

    // Where the listings start (documents/, and uploads/ for expired uploads), then the directories on the
    // way to the recent keys, and nothing else: not the root, no older shard, no older document.
    const ancestors = (key: string) => key.split('/').slice(0, -1).map((_, i, segments) => `${segments.slice(0, i + 1).join('/')}/`);
    expect(dirs).toEqual([...new Set([layout.uploadsPrefix, ...recent.flatMap(ancestors)])].sort());
    expect(await storage.store.list({ prefix: layout.documentsPrefix, limit: 10_000 })).toHaveLength(old.length + 2);
  });
});
