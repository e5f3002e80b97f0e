/**
 * Storage outage on the real S3 server: a Ceph RGW of this file's own (stopping the run's shared
 * gateway would fail other files' tests) is stopped in the middle of a stream of encrypted captures
 * to a service process, then started again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCephRgw, type CephRgw } from '../../testkit/ceph-rgw.ts';
import { keysEnv, s3Env, startService, type ServiceProcess } from '../../testkit/service-process.ts';
import { clerk, devToken, ingestKey } from '../../testkit/service-client.ts';
import { expectAcknowledgedIntact, expectFeedWhole, expectSweepRemovesLeftovers, startUploadStream, type UploadOutcome } from '../support/upload-stream.ts';
import { uniqueBucket } from '../../testkit/s3.ts';
import { freshDatabaseUrl } from '../../testkit/database.ts';

describe('S3 gateway outage during uploads (Ceph RGW)', () => {
  let rgw: CephRgw;
  let env: Record<string, string>;
  let service: ServiceProcess;
  let token: string;
  let outcomes: UploadOutcome[];
  const readyDuringOutage: number[] = [];

  beforeAll(async () => {
    rgw = await startCephRgw();
    env = { ...s3Env(rgw, uniqueBucket('faults')), ...(await keysEnv()), DATABASE_URL: await freshDatabaseUrl() };
    service = await startService(env);
    token = await devToken(service.url, clerk('fault-clerk'));
    const key = await ingestKey(service.url);

    const stream = startUploadStream({ url: () => service.url, token: () => token, key }, 3);
    const accepted = (o: UploadOutcome) => o.status === 201;
    const refused = (o: UploadOutcome) => o.status === 503;
    await stream.answered(accepted, 2);
    await rgw.stopGateway();
    // /readyz is asked before, between and after refused uploads: the outage is seen throughout.
    for (let i = 0; i < 3; i++) {
      readyDuringOutage.push((await fetch(`${service.url}/readyz`)).status);
      if (i < 2) await stream.answered(refused, 1);
    }
    await rgw.startGateway();
    await stream.answered(accepted, 2);
    outcomes = await stream.finish();
  });
  afterAll(async () => {
    await service?.stop();
    await rgw?.stop();
  });

  it('answered some uploads before and after the outage and refused some during it', () => {
    expect(outcomes.filter((o) => o.status === 201).length).toBeGreaterThan(3);
    expect(outcomes.filter((o) => o.status === 503).length).toBeGreaterThan(0);
  });

  it('answers every upload 201 (readable, byte-intact) or 503 problem+json with Retry-After', async () => {
    await expectAcknowledgedIntact(service.url, token, outcomes, false);
  });

  it('reports the outage on /readyz and recovers without a restart', async () => {
    expect(readyDuringOutage).toEqual([503, 503, 503]);
    await expect.poll(async () => (await fetch(`${service.url}/readyz`)).status, { timeout: 30_000, interval: 500 }).toBe(200);
  });

  it('lists no half-written document in the feed', async () => {
    await expectFeedWhole(service.url, token, outcomes);
  });

  it('leaves only orphans the sweep finds and removes, and the sweep keeps every document', async () => {
    await expectSweepRemovesLeftovers(env);
    await expectAcknowledgedIntact(service.url, token, outcomes, false);
    await expectFeedWhole(service.url, token, outcomes);
  });
});
