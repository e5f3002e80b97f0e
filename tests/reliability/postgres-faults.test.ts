/**
 * Database outage: a PostgreSQL server of this file's own (stopping the run's shared one would fail
 * other files' tests) is stopped in the middle of a stream of encrypted captures to a service
 * process, then started again on the same port and data.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../testkit/postgres.ts';
import { keysEnv, s3Env, startService, type ServiceProcess } from '../../testkit/service-process.ts';
import { clerk, devToken, ingestKey } from '../../testkit/service-client.ts';
import { expectAcknowledgedIntact, expectFeedWhole, expectSweepRemovesLeftovers, startUploadStream, type UploadOutcome } from '../support/upload-stream.ts';
import { uniqueBucket } from '../../testkit/s3.ts';

describe(`PostgreSQL outage during uploads (${inject('s3').label})`, () => {
  let db: PostgresServer;
  let env: Record<string, string>;
  let service: ServiceProcess;
  let token: string;
  let outcomes: UploadOutcome[];
  const readyDuringOutage: number[] = [];

  beforeAll(async () => {
    db = await startPostgres();
    env = { ...s3Env(inject('s3'), uniqueBucket('db-faults')), ...(await keysEnv()), DATABASE_URL: await db.createDatabase('vsc') };
    service = await startService(env);
    token = await devToken(service.url, clerk('db-fault-clerk'));
    const key = await ingestKey(service.url);

    const stream = startUploadStream({ url: () => service.url, token: () => token, key }, 3);
    const accepted = (o: UploadOutcome) => o.status === 201;
    const refused = (o: UploadOutcome) => o.status === 503;
    await stream.answered(accepted, 2);
    await db.stopServer();
    // /readyz is asked before, between and after refused uploads: the outage is seen throughout.
    for (let i = 0; i < 3; i++) {
      readyDuringOutage.push((await fetch(`${service.url}/readyz`)).status);
      if (i < 2) await stream.answered(refused, 1);
    }
    await db.startServer();
    await stream.answered(accepted, 2);
    outcomes = await stream.finish();
  });
  afterAll(async () => {
    await service?.stop();
    await db?.stop();
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
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
  });

  it('lists no half-committed document, and the sweep removes exactly the blobs of failed captures', async () => {
    await expectFeedWhole(service.url, token, outcomes);
    await expectSweepRemovesLeftovers(env);
    await expectAcknowledgedIntact(service.url, token, outcomes, false);
  });
});
