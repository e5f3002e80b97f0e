/** Crash safety: the service process is SIGKILLed in the middle of a stream of encrypted captures, then started again. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { keysEnv, s3Env, startService, type ServiceProcess } from '../../testkit/service-process.ts';
import { clerk, devToken, ingestKey } from '../../testkit/service-client.ts';
import { expectAcknowledgedIntact, expectFeedWhole, expectSweepRemovesLeftovers, startUploadStream, type UploadOutcome } from '../support/upload-stream.ts';
import { uniqueBucket } from '../../testkit/s3.ts';
import { freshDatabaseUrl } from '../../testkit/database.ts';

describe(`service killed (SIGKILL) during uploads (${inject('s3').label})`, () => {
  let dataDir: string;
  let env: Record<string, string>;
  let service: ServiceProcess;
  let token: string;
  let outcomes: UploadOutcome[];

  beforeAll(async () => {
    // Kept across the restart: the development token issuer's key lives there.
    dataDir = await mkdtemp(path.join(tmpdir(), 'vsc-crash-'));
    env = { ...s3Env(inject('s3'), uniqueBucket('crash')), ...(await keysEnv()), DATA_DIR: dataDir, DATABASE_URL: await freshDatabaseUrl() };
    service = await startService(env);
    token = await devToken(service.url, clerk('crash-clerk'));
    const stream = startUploadStream({ url: () => service.url, token: () => token, key: await ingestKey(service.url) }, 3);
    const accepted = (o: UploadOutcome) => o.status === 201;
    await stream.answered(accepted, 2);
    // Killed while every client has a request on the wire, so some are cut off mid-way.
    await stream.allInFlight();
    await service.kill();
    service = await startService(env);
    await stream.answered(accepted, 2);
    outcomes = await stream.finish();
  });
  afterAll(async () => {
    await service?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answered uploads before the kill and after the restart', () => {
    expect(outcomes.filter((o) => o.status === 201).length).toBeGreaterThan(3);
    expect(outcomes.some((o) => o.status === undefined)).toBe(true);
  });

  it('keeps every acknowledged document readable and intact; requests cut off by the kill got no answer, none a wrong one', async () => {
    await expectAcknowledgedIntact(service.url, token, outcomes, true);
  });

  it('is ready after the restart and lists no half-written document', async () => {
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
    await expectFeedWhole(service.url, token, outcomes);
  });

  it('leaves only orphans the sweep finds and removes', async () => {
    await expectSweepRemovesLeftovers(env);
    await expectFeedWhole(service.url, token, outcomes);
  });
});
