import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { layout } from '../../src/storage/layout.ts';
import { openapiAgent } from '../support/openapi.ts';
import { flipStoredByte } from '../../testkit/test-app.ts';
import { withTestApp } from '../../testkit/with-test-app.ts';
import { attachCapture, pdfWithText } from '../../testkit/capture-fixtures.ts';

const UNIT = 'BA-Nord';

describe('GET /v1/documents/{id}/content: streaming failures and aborted downloads', () => {
  const t = withTestApp({
    agent: openapiAgent,
    users: {
      capturer: { sub: 'u-cap', roles: ['capture'], units: [UNIT] },
      archivist: { sub: 'u-arch', roles: ['export'], units: [UNIT] },
    },
  });

  async function captured(title: string): Promise<string> {
    const res = await attachCapture(t.api.post('/v1/documents').set('Authorization', `Bearer ${t.tokens.capturer}`), { title }, [
      { body: await pdfWithText(title), contentType: 'application/pdf' },
    ]).expect(201);
    return res.body.id as string;
  }

  it('destroys the stored stream when the client goes away mid-download', async () => {
    const id = await captured('abort');
    const stored = new PassThrough();
    const store = t.deps.store;
    const original = store.get.bind(store);
    const get = vi.spyOn(store, 'get').mockImplementation(async (key, range) => (key === layout.rendition(id) ? (stored as Readable) : original(key, range)));
    const server = t.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const req = http.get({ port, host: '127.0.0.1', path: `/v1/documents/${id}/content`, headers: { authorization: `Bearer ${t.tokens.archivist}` } });
      stored.write(Buffer.alloc(1024, 1));
      const [res] = (await once(req, 'response')) as [http.IncomingMessage];
      expect(res.statusCode).toBe(200);
      await once(res, 'data');
      req.destroy();
      // The store's stream (an S3 connection in production) must not outlive the client.
      // Waits for the event ('close' follows destroy; its error, a premature close, is the expected cause).
      if (!stored.destroyed) await new Promise((resolve) => stored.once('close', resolve));
      expect(stored.destroyed).toBe(true);
    } finally {
      get.mockRestore();
      server.closeAllConnections();
      server.close();
    }
  });

  it('answers a stored object that fails its integrity check at once with 500 integrity_error, not a cut connection', async () => {
    const id = await captured('flipped');
    await flipStoredByte(t, layout.rendition(id));
    const res = await t.api.get(`/v1/documents/${id}/content`).set('Authorization', `Bearer ${t.tokens.archivist}`).expect(500);
    expect(res.body).toMatchObject({ code: 'integrity_error' });
    expect(res.headers['content-disposition']).toBeUndefined();
  });

  it('answers 404 when the blobs went away after the record was read (a deletion racing the download)', async () => {
    const id = await captured('deleted meanwhile');
    await t.deps.store.delete(layout.rendition(id));
    const res = await t.api.get(`/v1/documents/${id}/content`).set('Authorization', `Bearer ${t.tokens.archivist}`).expect(404);
    expect(res.body).toMatchObject({ code: 'not_found' });
  });
});
