import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openapiAgent, type OpenApiAgent } from '../support/openapi.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { attachCapture, pdfWithText } from '../support/capture-fixtures.ts';

const UNIT = 'BA-Nord';
/** Small but realistic: far above the few milliseconds between a commit's feed entry and its record. */
const SETTLE_MS = 250;

describe('GET /v1/documents while captures arrive on two instances', () => {
  let first: TestApp;
  let second: TestApp;
  let agents: OpenApiAgent[];

  beforeAll(async () => {
    first = await startTestApp({ FEED_SETTLE_MS: String(SETTLE_MS) });
    second = await startTestApp({ FEED_SETTLE_MS: String(SETTLE_MS) }, { dataDir: first.dataDir });
    agents = [openapiAgent(first.app), openapiAgent(second.app)];
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it('serves every document exactly once to a poller that runs during the captures', async () => {
    const capturer = await first.token({ sub: 'u-cap', roles: ['capture'], units: [UNIT] });
    const archive = await first.token({ sub: 'u-arch', roles: ['export'], units: [UNIT] });
    const pdf = await pdfWithText('feed');
    const served: string[] = [];
    let cursor: string | null = null;
    const poll = async (agent: OpenApiAgent) => {
      const page = await agent
        .get(`/v1/documents?limit=3${cursor ? `&after=${cursor}` : ''}`)
        .set('Authorization', `Bearer ${archive}`)
        .expect(200);
      served.push(...page.body.items.map((d: { id: string }) => d.id));
      cursor = page.body.next;
      return page.body.hasMore as boolean;
    };

    let capturing = true;
    // The archive alternates between the instances, as behind a load balancer.
    const poller = (async () => {
      for (let i = 0; capturing; i++) {
        await poll(agents[i % 2]!);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const created: string[] = [];
    for (let round = 0; round < 4; round++) {
      const batch = await Promise.all(
        Array.from({ length: 4 }, (_, i) =>
          attachCapture(agents[i % 2]!.post('/v1/documents').set('Authorization', `Bearer ${capturer}`), { title: `Feed ${round}-${i}` }, [
            { body: pdf, contentType: 'application/pdf' },
          ]).expect(201),
        ),
      );
      created.push(...batch.map((r) => r.body.id as string));
      // Later rounds commit while the archive already consumes earlier ones, however fast the machine is.
      if (round === 0) await until(() => served.length > 0, 5_000);
    }
    capturing = false;
    await poller;
    // The poll really ran between the commits, not only after them.
    expect(served.length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, SETTLE_MS + 50));
    while (await poll(agents[0]!));

    expect(served.length).toBe(new Set(served).size);
    expect([...served].sort()).toEqual([...created].sort());
  });
});

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
