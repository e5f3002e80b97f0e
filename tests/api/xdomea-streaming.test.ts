/**
 * The xdomea ZIP streams from storage: a fault before the first byte is a problem answer, a fault or
 * foreign bytes later cut the answer off (never a ZIP whose message describes other bytes), and a
 * client that goes away releases the store's streams. HEAD records nothing.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { layout } from '../../src/storage/layout.ts';
import { attachCapture, jpegWithMarker, newMarker, pdfWithText } from '../../testkit/capture-fixtures.ts';
import { openapiAgent } from '../support/openapi.ts';
import { flipStoredByte } from '../../testkit/test-app.ts';
import { withTestApp } from '../../testkit/with-test-app.ts';
import { unpack } from '../support/xdomea.ts';

const UNIT = 'BA-West';

describe('GET /v1/documents/{id}/xdomea: streaming failures', () => {
  const t = withTestApp({
    agent: openapiAgent,
    users: {
      capturer: { sub: 'u-cap', roles: ['capture'], units: [UNIT] },
      archivist: { sub: 'u-arch', roles: ['export'], units: [UNIT] },
      auditor: { sub: 'u-aud', roles: ['audit'], units: [UNIT] },
    },
  });
  let server: http.Server;

  beforeAll(async () => {
    server = t.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  // Registered after the app's own afterAll, so it runs before the app closes.
  afterAll(() => {
    server?.closeAllConnections();
    server?.close();
  });

  async function captured(): Promise<string> {
    const res = await attachCapture(t.api.post('/v1/documents').set('Authorization', `Bearer ${t.tokens.capturer}`), { title: 'Streaming' }, [
      { body: await pdfWithText('Streaming'), contentType: 'application/pdf' },
      { body: await jpegWithMarker(newMarker()), contentType: 'image/jpeg' },
    ]).expect(201);
    return res.body.id as string;
  }

  /** The store answers `key` with a stream the test feeds; resolves once the export asked for it. */
  function feedOriginal(key: string): { stored: PassThrough; asked: Promise<void>; restore(): void } {
    const stored = new PassThrough();
    const store = t.deps.store;
    const original = store.get.bind(store);
    let asked!: () => void;
    const askedPromise = new Promise<void>((resolve) => (asked = resolve));
    const get = vi.spyOn(store, 'get').mockImplementation(async (k, range) => {
      if (k !== key) return original(k, range);
      asked();
      return stored as Readable;
    });
    return { stored, asked: askedPromise, restore: () => get.mockRestore() };
  }

  /** A raw GET, so a cut answer is seen as it is (supertest would only report an error). */
  async function rawExport(id: string): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> {
    const { port } = server.address() as AddressInfo;
    const req = http.get({ port, host: '127.0.0.1', path: `/v1/documents/${id}/xdomea`, headers: { authorization: `Bearer ${t.tokens.archivist}` } });
    const [res] = (await once(req, 'response')) as [http.IncomingMessage];
    return { req, res };
  }

  /** Everything the response delivered until it ended or was cut, and whether it completed. */
  async function drain(res: http.IncomingMessage): Promise<{ body: Buffer; complete: boolean }> {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    await new Promise<void>((resolve) => {
      res.once('close', resolve);
      res.once('error', () => resolve());
    });
    return { body: Buffer.concat(chunks), complete: res.complete };
  }

  it('destroys the stored stream when the client goes away mid-export', async () => {
    const id = await captured();
    const feed = feedOriginal(layout.original(id, 1));
    try {
      const { req, res } = await rawExport(id);
      expect(res.statusCode).toBe(200);
      await feed.asked;
      feed.stored.write(Buffer.alloc(1024, 1));
      await once(res, 'data');
      req.destroy();
      if (!feed.stored.destroyed) await new Promise((resolve) => feed.stored.once('close', resolve));
      expect(feed.stored.destroyed).toBe(true);
    } finally {
      feed.restore();
    }
  });

  it.each([
    ['fails while streaming', (s: PassThrough) => s.destroy(new Error('storage went away'))],
    ['returns bytes other than the recorded ones', (s: PassThrough) => s.end(Buffer.from('not the original'))],
  ])('cuts the answer off when a later file %s: no complete ZIP, no message describing other bytes', async (_name, misbehave) => {
    const id = await captured();
    const feed = feedOriginal(layout.original(id, 1));
    try {
      const { res } = await rawExport(id);
      expect(res.statusCode).toBe(200);
      const drained = drain(res);
      await feed.asked;
      misbehave(feed.stored);
      const { body, complete } = await drained;
      expect(complete).toBe(false);
      await expect(unpack(body)).rejects.toThrow();
      expect(body.includes(Buffer.from('FVDaten.SGOAblegen.0605.xml'))).toBe(false);
    } finally {
      feed.restore();
    }
  });

  it('answers a rendition failing its integrity check with 500 integrity_error before any byte of a ZIP', async () => {
    const id = await captured();
    await flipStoredByte(t, layout.rendition(id));
    const res = await t.api.get(`/v1/documents/${id}/xdomea`).set('Authorization', `Bearer ${t.tokens.archivist}`).expect(500);
    expect(res.body).toMatchObject({ code: 'integrity_error' });
    expect(res.headers['content-disposition']).toBeUndefined();
  });

  it('refuses HEAD with 405 and records no export', async () => {
    const id = await captured();
    const trail = async () => (await t.api.get(`/v1/documents/${id}/audit`).set('Authorization', `Bearer ${t.tokens.auditor}`).expect(200)).body.entries.length as number;
    const before = await trail();
    const res = await t.api.head(`/v1/documents/${id}/xdomea`).set('Authorization', `Bearer ${t.tokens.archivist}`).expect(405);
    expect(res.headers.allow).toBe('GET');
    expect(await trail()).toBe(before);
  });
});
