/**
 * The real app (testkit/test-app.ts: encrypted FsStore, processing pool, dev issuer) with the
 * viewer's parts under the test's control: a recorder that keeps events and a clock that can jump.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createApp } from '../src/app.ts';
import { composeViews } from '../src/compose-views.ts';
import { createProcessingPool } from '../src/processing/pool.ts';
import type { ViewEvent } from '../src/views/recorder.ts';
import type { PageRenderer } from '../src/views/service.ts';
import { startTestApp, type TestApp } from './test-app.ts';
import { attachCapture } from './capture-fixtures.ts';

export interface ViewerTestApp extends TestApp {
  /** Every view event, in order. */
  recorded: ViewEvent[];
  /** Moves the viewer's clock (tickets, watermark time) forward. */
  advanceClock(ms: number): void;
  /** Captures `pdf` through the capture API as a VS-NfD document; its id. */
  capture(token: string, pdf: Buffer, title: string, metadata?: Record<string, string>): Promise<string>;
  /** A ticket and viewer URL through POST /v1/documents/{id}/views. */
  openView(token: string, documentId: string): Promise<{ ticket: string; expiresAt: string; viewerUrl: string }>;
  /** Listens on an ephemeral loopback port; its base URL. */
  listen(): Promise<string>;
  /** Image bodies exactly as the listening server sent them, with the request URL. */
  servedImages: Array<{ url: string; body: Buffer }>;
}

/** `wrapRenderer` wraps the viewer's page renderer, e.g. to hold renders at a gate. */
export async function startViewerApp(env: Record<string, string> = {}, options: { wrapRenderer?: (renderer: PageRenderer) => PageRenderer } = {}): Promise<ViewerTestApp> {
  const base = await startTestApp(env);
  const pool = createProcessingPool({ threads: 2, maxQueue: 64 });
  const recorded: ViewEvent[] = [];
  let offset = 0;
  const viewer = await composeViews(base.deps.config, {
    documents: base.deps.documents,
    renderer: options.wrapRenderer?.(pool) ?? pool,
    recorder: { record: async (event) => void recorded.push(event) },
    now: () => Date.now() + offset,
  });
  const app = createApp({ ...base.deps, ...viewer });
  let server: Server | undefined;
  const servedImages: ViewerTestApp['servedImages'] = [];
  return {
    ...base,
    app,
    recorded,
    advanceClock: (ms) => void (offset += ms),
    async capture(token, pdf, title, metadata = {}) {
      const req = request(app).post('/v1/documents').set('Authorization', `Bearer ${token}`);
      const res = await attachCapture(req, { title, source: 'scanner', ...metadata }, [{ body: pdf, contentType: 'application/pdf' }]);
      if (res.status !== 201) throw new Error(`capture failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.id as string;
    },
    async openView(token, documentId) {
      const res = await request(app).post(`/v1/documents/${documentId}/views`).set('Authorization', `Bearer ${token}`);
      if (res.status !== 201) throw new Error(`view ticket refused: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    },
    servedImages,
    async listen() {
      server = createServer((req, res) => {
        const end = res.end.bind(res) as (...args: unknown[]) => typeof res;
        // express sends a buffer body in one end() call: keep a copy of what went on the wire.
        res.end = ((...args: unknown[]) => {
          if (Buffer.isBuffer(args[0]) && String(res.getHeader('content-type')).startsWith('image/')) servedImages.push({ url: req.url ?? '', body: args[0] });
          return end(...args);
        }) as typeof res.end;
        app(req, res);
      }).listen(0, '127.0.0.1');
      await once(server, 'listening');
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    async close() {
      if (server) {
        server.closeAllConnections();
        server.close();
      }
      await pool.close();
      await base.close();
    },
  };
}
