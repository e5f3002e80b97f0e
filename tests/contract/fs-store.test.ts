import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { generateKek, KekRing } from '../../src/keys/kek-ring.ts';
import { EncryptedStore } from '../../src/storage/encrypted-store.ts';
import { FsStore } from '../../src/storage/fs-store.ts';
import { describeEncryptedStoreContract, describeObjectStoreContract } from './object-store.ts';

const dirs: string[] = [];
async function freshFsStore(): Promise<FsStore> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vsc-fs-store-'));
  dirs.push(dir);
  const store = new FsStore(path.join(dir, 'objects'));
  await store.ensureRoot();
  return store;
}
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describeObjectStoreContract('FsStore', freshFsStore);
describeEncryptedStoreContract('EncryptedStore(FsStore)', async () => {
  const raw = await freshFsStore();
  return { raw, store: new EncryptedStore(raw, new KekRing([generateKek('k-test')])) };
});
