/**
 * Renders are admitted per reader and in all: one reader's burst of thumbnails and pages is told to
 * wait (429, Retry-After) instead of filling the processing pool, so another user's capture still lands.
 * Renders are held at a gate in front of the pool, so which requests are in flight is decided by events.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachCapture, pdfWithText } from '../../testkit/capture-fixtures.ts';
import { renderGate } from '../support/render-gate.ts';
import { withTestApp } from '../../testkit/with-test-app.ts';

const UNIT = 'BA-Nord';

describe('render admission: one reader cannot crowd out captures', () => {
  const gate = renderGate();
  const t = withTestApp({
    // One thread and a queue of 5: the pool takes 6 tasks, renders at most 3 of them.
    env: { PROCESSING_THREADS: '1', PROCESSING_QUEUE: '5' },
    options: { wrapRenderer: gate.wrap },
    users: { capturer: { sub: 'u-cap', roles: ['capture'], units: [UNIT] } },
  });
  let server: Server;
  let base: string;
  let docId: string;

  beforeAll(async () => {
    server = createServer(t.app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    docId = await capture(await pdfWithText('Bescheid', 2));
  });
  // Registered after the app's own afterAll, so it runs before the app closes.
  afterAll(() => {
    gate.release();
    server.closeAllConnections();
    server.close();
  });

  async function capture(pdf: Buffer): Promise<string> {
    const res = await attachCapture(request(t.app).post('/v1/documents').set('Authorization', `Bearer ${t.tokens.capturer}`), { title: 'Bescheid', source: 'scanner' }, [
      { body: pdf, contentType: 'application/pdf' },
    ]);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  }

  it('answers a reader\'s burst beyond 2 renders with 429 problem+json (German first, English on request), Retry-After, while another user captures', async () => {
    const reader = await t.token({ sub: 'u-burst', name: 'Erika Mustermann', roles: ['read'], units: [UNIT] });
    // Distinct widths: no two requests share a cached render, so each admitted one reaches the renderer.
    const burst = Array.from({ length: 60 }, (_, i) =>
      fetch(`${base}/v1/documents/${docId}/thumbnail?width=${80 + i}`, { headers: { Authorization: `Bearer ${reader}`, ...(i % 2 ? { 'Accept-Language': 'en' } : {}) } }),
    );
    const answered: Response[] = [];
    // The refused ones answer at once; the two admitted ones wait at the gate.
    const refusedAll = new Promise<void>((resolve) => {
      for (const p of burst) void p.then((res) => (answered.push(res), answered.length === 58 && resolve()));
    });
    await Promise.all([gate.until(2), refusedAll]);
    const refused = answered.filter((r) => r.status === 429);
    expect(refused).toHaveLength(58);
    for (const res of refused) {
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.headers.get('retry-after')).toBe('1');
      const body = (await res.clone().json()) as { code: string; status: number; detail: string; title: string };
      expect(body).toMatchObject({ code: 'too_many_requests', status: 429 });
      if (res.headers.get('content-language') === 'de') {
        expect(body.title).toBe('Zu viele Anfragen');
        expect(body.detail).toContain('warten Sie die in Retry-After genannte Zeit');
      } else {
        expect(body.detail).toContain('wait the time in Retry-After');
      }
    }
    expect(refused.some((r) => r.headers.get('content-language') === 'de')).toBe(true);
    expect(refused.some((r) => r.headers.get('content-language') === 'en')).toBe(true);

    // The same reader's viewer pages share the quota; another user's capture at the same moment goes through the pool.
    const { ticket } = (await request(t.app).post(`/v1/documents/${docId}/views`).set('Authorization', `Bearer ${reader}`).expect(201)).body as { ticket: string };
    const page = await request(t.app).get(`/view-api/documents/${docId}/pages/1?width=800`).set('Authorization', `Ticket ${ticket}`).expect(429);
    expect(page.headers['retry-after']).toBe('1');
    await capture(await pdfWithText('Antrag', 1));
    expect(gate.reached).toBe(2);

    // A second reader takes the last of the 3 render slots; a third reader finds the service full of renders (503).
    const [second, third] = await Promise.all(['u-second', 'u-third'].map((sub) => t.token({ sub, roles: ['read'], units: [UNIT] })));
    const secondThumb = request(t.app).get(`/v1/documents/${docId}/thumbnail`).set('Authorization', `Bearer ${second}`).then((res) => res.status);
    await gate.until(3);
    const full = await request(t.app).get(`/v1/documents/${docId}/thumbnail`).set('Authorization', `Bearer ${third}`).expect(503);
    expect(full.headers['retry-after']).toBe('1');
    expect(full.body).toMatchObject({ code: 'busy', detail: expect.stringContaining('Gerade werden zu viele Seiten gerendert') });
    await capture(await pdfWithText('Widerspruch', 1));

    gate.release();
    expect(await secondThumb).toBe(200);
    const all = await Promise.all(burst);
    expect(all.filter((r) => r.status === 200)).toHaveLength(2);
    expect(all.filter((r) => r.status === 429)).toHaveLength(58);
  });
});
