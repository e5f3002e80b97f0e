/**
 * The archive feed through the API, on two instances sharing one store and one database: captures
 * whose blobs are still being written (a store that holds chosen writes) are not committed yet, polls
 * on either instance neither serve them nor move past them, and once they commit every document is
 * served exactly once. A commit held inside its transaction, after it took its feed position, holds
 * back every later commit, so no poll passes it. The order of writes, commits and polls is decided
 * by the test, not by the machine's speed; there is no settle window to wait for (docs/metadata-store.md).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openapiAgent, type OpenApiAgent } from '../support/openapi.ts';
import { startTestApp, type TestApp } from '../../testkit/test-app.ts';
import { attachCapture, pdfWithText } from '../../testkit/capture-fixtures.ts';
import { GatedStore } from '../support/gated-store.ts';

const UNIT = 'BA-Nord';
const ROUNDS = 4;
const PER_ROUND = 4;

describe('GET /v1/documents while captures commit on two instances', () => {
  let first: TestApp;
  let second: TestApp;
  const gates: GatedStore[] = [];
  let agents: OpenApiAgent[];

  beforeAll(async () => {
    const gated = { wrapStore: (backend: ConstructorParameters<typeof GatedStore>[0]) => gates[gates.push(new GatedStore(backend)) - 1]! };
    first = await startTestApp({}, gated);
    second = await startTestApp({}, { ...gated, sharing: first });
    agents = [openapiAgent(first.app), openapiAgent(second.app)];
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it('serves every document exactly once when polls run while captures are still writing their blobs', async () => {
    const capturer = await first.token({ sub: 'u-cap', roles: ['capture'], units: [UNIT] });
    const archive = await first.token({ sub: 'u-arch', roles: ['export'], units: [UNIT] });
    const pdf = await pdfWithText('feed');
    const served: string[] = [];
    let cursor: string | null = null;
    let polls = 0;
    // The archive alternates between the instances, as behind a load balancer.
    const poll = async () => {
      const page = await agents[polls++ % 2]!
        .get(`/v1/documents?limit=3${cursor ? `&after=${cursor}` : ''}`)
        .set('Authorization', `Bearer ${archive}`)
        .expect(200);
      served.push(...page.body.items.map((d: { id: string }) => d.id));
      cursor = page.body.next;
      return page.body.hasMore as boolean;
    };

    const created: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Each capture stops while writing its rendition, before its commit.
      const held = Array.from({ length: PER_ROUND }, (_, i) => gates[i % 2]!.hold((key) => key.endsWith('/rendition')));
      // then() sends each request now (supertest sends on the first then).
      const captures = held.map((_, i) =>
        attachCapture(agents[i % 2]!.post('/v1/documents').set('Authorization', `Bearer ${capturer}`), { title: `Feed ${round}-${i}` }, [
          { body: pdf, contentType: 'application/pdf' },
        ])
          .expect(201)
          .then((res) => res.body.id as string),
      );
      await Promise.all(held.map((h) => h.reached));
      const [before, passedFrom] = [served.length, cursor];
      await poll();
      // Nothing of this round is committed: the poll serves none of it and its cursor stays where it was.
      expect(cursor).toBe(passedFrom);
      expect(served.length).toBe(before);
      held.forEach((h) => h.release());
      created.push(...(await Promise.all(captures)));
      while (await poll());
    }
    expect(served.length).toBe(new Set(served).size);
    expect([...served].sort()).toEqual([...created].sort());
  });

  it('serves a commit held after it took its feed position before any later commit, so a poll never passes it', async () => {
    const capturer = await first.token({ sub: 'u-cap', roles: ['capture'], units: ['BA-Ost'] });
    const archive = await first.token({ sub: 'u-arch', roles: ['export'], units: ['BA-Ost'] });
    const pdf = await pdfWithText('held commit');
    const send = (agent: OpenApiAgent, title: string, key?: string) => {
      const request = agent.post('/v1/documents').set('Authorization', `Bearer ${capturer}`);
      return attachCapture(key ? request.set('Idempotency-Key', key) : request, { title }, [{ body: pdf, contentType: 'application/pdf' }])
        .expect(201)
        .then((res) => res.body.id as string);
    };
    const poll = async (after: string | null) => {
      const page = await agents[1]!.get(`/v1/documents?limit=10${after ? `&after=${after}` : ''}`).set('Authorization', `Bearer ${archive}`).expect(200);
      return { ids: page.body.items.map((d: { id: string }) => d.id) as string[], next: page.body.next as string | null };
    };
    const db = new pg.Client({ connectionString: first.databaseUrl! });
    await db.connect();
    const lockWaiters = async () =>
      (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0]!.n;
    const holder = new pg.Client({ connectionString: first.databaseUrl! });
    await holder.connect();
    try {
      // A's claim row exists once its blobs are being written; the holder locks it, so A's commit stops at marking it done, after its position was taken.
      const blobs = gates[0]!.hold((key) => key.endsWith('/rendition'));
      const a = send(agents[0]!, 'Held A', 'held-commit-a');
      await blobs.reached;
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM idempotency_keys FOR UPDATE');
      blobs.release();
      while ((await lockWaiters()) < 1);
      // B takes no claim: only the feed order can make it wait for A.
      let bId: string | undefined;
      const b = send(agents[1]!, 'Later B').then((id) => (bId = id));
      while (bId === undefined && (await lockWaiters()) < 2);
      const during = await poll(null);
      await holder.query('COMMIT');
      const [aId] = await Promise.all([a, b]);
      // Whatever the poll saw meanwhile, continuing from its cursor serves A and B, each once, A first.
      const after = await poll(during.next);
      expect([...during.ids, ...after.ids]).toEqual([aId, bId]);
    } finally {
      await holder.end();
      await db.end();
    }
  });
});
