import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
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

describe('FsStore writes an object given in pieces', () => {
  it('takes more pieces than one writev does (IOV_MAX 1024), empty ones among them, and reads them back whole', async () => {
    const store = await freshFsStore();
    const pieces = Array.from({ length: 3000 }, (_, i) => randomBytes(i % 7 === 0 ? 0 : (i % 50) + 1));
    await store.put('many/pieces', pieces);
    expect((await store.getBuffer('many/pieces')).equals(Buffer.concat(pieces))).toBe(true);
  });

  // RLIMIT_FSIZE (ulimit -f, SIGXFSZ ignored): the kernel takes the write up to the limit, the next one fails with EFBIG.
  it('a write cut short and then refused leaves no object and no temporary file, and says the store is unavailable', async () => {
    const root = path.join(await mkdtemp(path.join(tmpdir(), 'vsc-fs-store-')), 'objects');
    dirs.push(path.dirname(root));
    const child = `
      import { randomBytes } from 'node:crypto';
      const { FsStore } = await import(${JSON.stringify(pathToFileURL(path.resolve('src/storage/fs-store.ts')).href)});
      const store = new FsStore(${JSON.stringify(root)});
      await store.ensureRoot();
      const error = await store.put('big/object', Array.from({ length: 300 }, () => randomBytes(10_000))).then(() => undefined, (err) => err.name);
      const listed = (await store.list({ prefix: '' })).map((o) => o.key);
      process.stdout.write(JSON.stringify({ error, listed }));`;
    // 1000 blocks of 512 bytes: 512 000 of the 3 000 000 bytes fit.
    const { stdout } = await promisify(execFile)('bash', ['-c', 'trap "" XFSZ; ulimit -f 1000; exec "$0" --import tsx --input-type=module -e "$1"', process.execPath, child]);
    expect(JSON.parse(stdout)).toEqual({ error: 'StorageUnavailableError', listed: [] });
    expect(await readdir(path.join(root, 'big'))).toEqual([]);
  });
});
