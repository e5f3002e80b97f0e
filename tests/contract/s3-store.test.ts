import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKek, KekRing } from '../../src/keys/kek-ring.ts';
import { EncryptedStore } from '../../src/storage/encrypted-store.ts';
import { StorageUnavailableError } from '../../src/storage/object-store.ts';
import { S3Store } from '../../src/storage/s3-store.ts';
import { parseS3Endpoint } from '../../src/storage/s3-endpoint.ts';
import { startCephRgw, type CephRgw } from '../../testkit/ceph-rgw.ts';
import { freshS3Store, s3Label } from '../../testkit/s3.ts';
import { describeEncryptedStoreContract, describeObjectStoreContract } from './object-store.ts';

describeObjectStoreContract(s3Label(), () => freshS3Store('contract'));
describeEncryptedStoreContract(`EncryptedStore(${s3Label()})`, async () => {
  const raw = await freshS3Store('contract-enc');
  return { raw, store: new EncryptedStore(raw, new KekRing([generateKek('k-test')])) };
});

describe('S3Store fails fast when the server cannot answer', () => {
  const options = { endPoint: '127.0.0.1', useSSL: false, region: 'us-east-1', bucket: 'vsc-down', accessKey: 'x', secretKey: 'y' };
  let silent: Server;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    // Accepts connections and never answers, like a hung gateway.
    silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => {
    sockets.forEach((s) => s.destroy());
    silent.close();
  });

  // No wall clock decides these: the error names its cause, and a retrying or hanging client would
  // open more connections or run into the test's timeout.
  it('refused connection: StorageUnavailableError naming the refusal', async () => {
    const store = new S3Store({ ...options, port: await closedPort() });
    await expect(store.ping()).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(store.head('a')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('silent server: StorageUnavailableError from the idle timeout, on one connection (no retries)', async () => {
    const store = new S3Store({ ...options, port: (silent.address() as { port: number }).port, idleTimeoutMs: 300 });
    const before = sockets.length;
    const failure = store.getBuffer('a');
    await expect(failure).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(failure).rejects.toThrow(/ETIMEDOUT no answer within 300 ms/);
    expect(sockets.length - before).toBe(1);
  });
});

describe('S3Store across a gateway outage (a Ceph RGW of its own, so other tests keep theirs)', () => {
  let rgw: CephRgw;
  let store: S3Store;
  beforeAll(async () => {
    rgw = await startCephRgw();
    const { endpoint, region, accessKey, secretKey } = rgw;
    store = new S3Store({ ...parseS3Endpoint(endpoint), region, accessKey, secretKey, bucket: 'vsc-outage' });
    await store.ensureBucket();
  });
  afterAll(() => rgw?.stop());

  it('fails fast while the gateway is down and works again once it is back', async () => {
    await store.put('kept', Buffer.from('before the outage'));
    await rgw.stopGateway();
    await expect(store.ping()).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(store.getBuffer('kept')).rejects.toBeInstanceOf(StorageUnavailableError);
    await rgw.startGateway();
    await expect(store.ping()).resolves.toBeUndefined();
    expect((await store.getBuffer('kept')).toString()).toBe('before the outage');
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
