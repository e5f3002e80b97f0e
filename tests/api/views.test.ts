import request from 'supertest';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pdfWithText } from '../../testkit/capture-fixtures.ts';
import { startViewerApp, type ViewerTestApp } from '../../testkit/viewer-app.ts';
import { layout } from '../../src/storage/layout.ts';

const UNIT = 'BA-Nord';

describe('view tickets and the ticket-authenticated viewer API', () => {
  let t: ViewerTestApp;
  let reader: string;
  let docId: string;
  let otherDocId: string;

  beforeAll(async () => {
    t = await startViewerApp();
    const capturer = await t.token({ sub: 'u-cap', roles: ['capture'], units: [UNIT] });
    reader = await t.token({ sub: 'u-read', name: 'Erika Mustermann', roles: ['read'], units: [UNIT] });
    docId = await t.capture(capturer, await pdfWithText('Bescheid', 3), 'Bescheid');
    otherDocId = await t.capture(capturer, await pdfWithText('Anderes', 1), 'Anderes');
  });
  afterAll(() => t.close());

  const info = (ticket: string, id = docId) => request(t.app).get(`/view-api/documents/${id}`).set('Authorization', `Ticket ${ticket}`);
  const page = (ticket: string, n: number, width: number | string = 800, id = docId) =>
    request(t.app).get(`/view-api/documents/${id}/pages/${n}?width=${width}`).set('Authorization', `Ticket ${ticket}`).buffer(true);

  it('issues a ticket to a reader of the unit, with the viewer URL carrying it in the fragment, and records it', async () => {
    const before = Date.now();
    const res = await request(t.app).post(`/v1/documents/${docId}/views`).set('Authorization', `Bearer ${reader}`).expect(201);
    const after = Date.now();
    expect(res.headers['cache-control']).toBe('no-store');
    const { ticket, expiresAt, viewerUrl } = res.body;
    expect(new URL(viewerUrl).pathname).toBe('/viewer/');
    expect(new URL(viewerUrl).search).toBe('');
    expect(new URL(viewerUrl).hash).toBe(`#ticket=${ticket}&doc=${docId}`);
    // Default lifetime: 10 minutes from issuance (JWT seconds: the issue time is truncated to the second).
    expect(Date.parse(expiresAt)).toBeGreaterThanOrEqual(before - 1000 + 10 * 60_000);
    expect(Date.parse(expiresAt)).toBeLessThanOrEqual(after + 10 * 60_000);
    expect(t.recorded.at(-1)).toMatchObject({ type: 'ticket_issued', documentId: docId, readerSub: 'u-read', expiresAt });
  });

  it('refuses tickets without bearer auth, without role read, and for another unit (as not found)', async () => {
    await request(t.app).post(`/v1/documents/${docId}/views`).expect(401);
    const exporter = await t.token({ sub: 'u-exp', roles: ['export'], units: [UNIT] });
    await request(t.app).post(`/v1/documents/${docId}/views`).set('Authorization', `Bearer ${exporter}`).expect(403);
    const stranger = await t.token({ sub: 'u-far', roles: ['read'], units: ['BA-Sued'] });
    const res = await request(t.app).post(`/v1/documents/${docId}/views`).set('Authorization', `Bearer ${stranger}`).expect(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('serves title and page count, and watermarked WebP pages, with no-store and the security headers', async () => {
    const { ticket } = await t.openView(reader, docId);
    const res = await info(ticket).expect(200);
    expect(res.body).toMatchObject({ documentId: docId, title: 'Bescheid', pageCount: 3, reader: { sub: 'u-read', name: 'Erika Mustermann' } });

    const img = await page(ticket, 2, 800).expect(200);
    expect(img.headers['content-type']).toBe('image/webp');
    expect(img.headers['cache-control']).toBe('no-store');
    expect(img.headers['content-security-policy']).toContain("default-src 'none'");
    expect(img.headers['x-content-type-options']).toBe('nosniff');
    expect(img.headers['referrer-policy']).toBe('no-referrer');
    expect(img.headers['content-encoding']).toBeUndefined();
    const meta = await sharp(img.body as Buffer).metadata();
    expect(meta.width).toBe(800);
    expect(t.recorded.at(-1)).toMatchObject({ type: 'page_viewed', documentId: docId, readerSub: 'u-read', page: 2 });
  });

  it('bounds the width and the page number', async () => {
    const { ticket } = await t.openView(reader, docId);
    expect((await page(ticket, 1, 399).expect(400)).body.code).toBe('validation_failed');
    expect((await page(ticket, 1, 2001).expect(400)).body.code).toBe('validation_failed');
    expect((await page(ticket, 1, 'wide').expect(400)).body.code).toBe('validation_failed');
    expect((await page(ticket, 4).expect(404)).body.detail).toMatch(/3 Seite/);
    await page(ticket, 0).expect(400);
  });

  it('refuses missing, forged, other-document and expired tickets with problem+json', async () => {
    const { ticket } = await t.openView(reader, docId);
    await request(t.app).get(`/view-api/documents/${docId}`).expect(401);
    // In the query it is not even looked at: tickets never travel in URLs.
    expect((await request(t.app).get(`/view-api/documents/${docId}?ticket=${ticket}`).expect(401)).body.code).toBe('ticket_invalid');
    const [h, p, s] = ticket.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), name: 'Mallory' })).toString('base64url')}.${s}`;
    expect((await info(forged).expect(401)).body.code).toBe('ticket_invalid');
    expect((await info(ticket, otherDocId).expect(403)).body.code).toBe('ticket_wrong_document');
    expect((await page(ticket, 1, 800, otherDocId).expect(403)).body.code).toBe('ticket_wrong_document');
    // A bearer token is not a ticket, even though both are signed JWTs.
    expect((await info(reader).expect(401)).body.code).toBe('ticket_invalid');

    t.advanceClock(11 * 60_000);
    try {
      const expired = await info(ticket).expect(401);
      expect(expired.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(expired.body.code).toBe('ticket_expired');
    } finally {
      t.advanceClock(-11 * 60_000);
    }
  });

  it('renews a valid ticket with the same ticket id and a full lifetime, within 8 hours of the first; never an expired, forged or foreign one', async () => {
    const renew = (ticket: string, id = docId) => request(t.app).post(`/view-api/documents/${id}/ticket`).set('Authorization', `Ticket ${ticket}`);
    const jti = (ticket: string) => JSON.parse(Buffer.from(ticket.split('.')[1]!, 'base64url').toString()).jti as string;
    const { ticket } = await t.openView(reader, docId);
    expect((await info(ticket).expect(200)).body).toMatchObject({ expiresInSeconds: expect.any(Number) });
    let advanced = 0;
    const advanceMinutes = (minutes: number) => {
      t.advanceClock(minutes * 60_000);
      advanced += minutes * 60_000;
    };
    try {
      advanceMinutes(9);
      const res = await renew(ticket).expect(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body.expiresInSeconds).toBeGreaterThanOrEqual(599);
      expect(jti(res.body.ticket)).toBe(jti(ticket));
      let current = res.body.ticket as string;
      // The old ticket has expired by now; the new one still reads pages.
      advanceMinutes(2);
      expect((await info(ticket).expect(401)).body.code).toBe('ticket_expired');
      await page(current, 1).expect(200);
      expect((await renew(current, otherDocId).expect(403)).body.code).toBe('ticket_wrong_document');
      expect((await renew(reader).expect(401)).body.code).toBe('ticket_invalid');
      expect((await renew(ticket).expect(401)).body.code).toBe('ticket_expired');
      // Renewed all day, the session still ends 8 hours after its first ticket.
      let last = res.body;
      for (let elapsed = 11; elapsed + 7 < 8 * 60; elapsed += 7) {
        advanceMinutes(7);
        last = (await renew(current).expect(200)).body;
        current = last.ticket;
      }
      expect(last.expiresInSeconds).toBeLessThan(600);
      const firstIssued = (JSON.parse(Buffer.from(ticket.split('.')[1]!, 'base64url').toString()) as { iat: number }).iat * 1000;
      expect(Date.parse(last.expiresAt)).toBe(firstIssued + 8 * 3600_000);
      advanceMinutes(10);
      expect((await renew(current).expect(401)).body.code).toBe('ticket_expired');
    } finally {
      t.advanceClock(-advanced);
    }
  });

  it('closing answers Clear-Site-Data for cache and storage', async () => {
    const res = await request(t.app).post('/view-api/close').expect(204);
    expect(res.headers['clear-site-data']).toBe('"cache", "storage"');
  });

  it('serves the viewer page and bundle under /viewer with a CSP that allows no inline code', async () => {
    const html = await request(t.app).get('/viewer/').expect(200);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.headers['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
    expect(html.text).not.toMatch(/<script>|<style|\sstyle=|\son\w+=/i);
    expect(html.text).toContain('<script type="module" src="viewer.js">');
    await request(t.app).get('/viewer/viewer.js').expect(200).expect('content-type', /javascript/);
    await request(t.app).get('/viewer/viewer.css').expect(200).expect('content-type', /text\/css/);
    await request(t.app).get('/viewer').expect(302).expect('location', '/viewer/');
    await request(t.app).get('/viewer/nothing.js').expect(404);
  });

  it('answers 404 for a page of a document whose rendition a deletion removed after the ticket was issued', async () => {
    const capturer = await t.token({ sub: 'u-cap', roles: ['capture'], units: [UNIT] });
    const id = await t.capture(capturer, await pdfWithText('Geloescht', 1), 'Geloescht');
    const { ticket } = (await request(t.app).post(`/v1/documents/${id}/views`).set('Authorization', `Bearer ${reader}`).expect(201)).body;
    await t.deps.store.delete(layout.rendition(id));
    const res = await page(ticket, 1, 800, id).expect(404);
    expect(res.body).toMatchObject({ code: 'not_found' });
  });

  it('keeps the reader id on the watermark however long the display name: readers differing only in id get different pages', async () => {
    const name = 'Dr. Maximiliane Erika Sophie von und zu Mustermann-Beispielhausen, Regierungsdirektorin';
    const readers = await Promise.all(['u-long-1', 'u-long-2'].map((sub) => t.token({ sub, name, roles: ['read'], units: [UNIT] })));
    const tickets = await Promise.all(readers.map(async (r) => (await t.openView(r, docId)).ticket));
    // The watermark prints the minute: render both within one minute.
    for (;;) {
      const minute = Math.floor(Date.now() / 60_000);
      const [a, b] = await Promise.all(tickets.map(async (ticket) => (await page(ticket, 1, 800).expect(200)).body as Buffer));
      if (Math.floor(Date.now() / 60_000) !== minute) continue;
      expect(a!.equals(b!)).toBe(false);
      return;
    }
  });

  describe('thumbnails for lists (bearer token, as the viewer\'s pages: role read and the unit)', () => {
    const thumb = (token: string | undefined, query = '', id = docId) => {
      const req = request(t.app).get(`/v1/documents/${id}/thumbnail${query}`).buffer(true);
      return token ? req.set('Authorization', `Bearer ${token}`) : req;
    };

    it('serves the first page small as WebP, with no-store and the security headers, not recorded one by one', async () => {
      const recorded = t.recorded.length;
      const res = await thumb(reader).expect(200);
      expect(res.headers['content-type']).toBe('image/webp');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['content-security-policy']).toContain("default-src 'none'");
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-encoding']).toBeUndefined();
      const meta = await sharp(res.body as Buffer).metadata();
      expect(meta).toMatchObject({ format: 'webp', width: 160 });
      // A4 portrait: taller than wide.
      expect(meta.height).toBeGreaterThan(200);
      expect((await sharp((await thumb(reader, '?width=80').expect(200)).body as Buffer).metadata()).width).toBe(80);
      expect(t.recorded.length).toBe(recorded);
    });

    it('burns the caller into the pixels: callers differing only in id get different thumbnails', async () => {
      const callers = await Promise.all(['u-thumb-1', 'u-thumb-2'].map((sub) => t.token({ sub, name: 'Erika Mustermann', roles: ['read'], units: [UNIT] })));
      // The watermark prints the minute: render both within one minute.
      for (;;) {
        const minute = Math.floor(Date.now() / 60_000);
        const [a, b] = await Promise.all(callers.map(async (c) => (await thumb(c).expect(200)).body as Buffer));
        if (Math.floor(Date.now() / 60_000) !== minute) continue;
        expect(a!.equals(b!)).toBe(false);
        return;
      }
    });

    it('refuses without a token, without role read, for another unit (as not found) and at widths out of bounds', async () => {
      expect((await thumb(undefined).expect(401)).headers['content-type']).toMatch(/^application\/problem\+json/);
      const exporter = await t.token({ sub: 'u-exp', roles: ['export'], units: [UNIT] });
      expect((await thumb(exporter).expect(403)).body.code).toBe('forbidden');
      const stranger = await t.token({ sub: 'u-far', roles: ['read'], units: ['BA-Sued'] });
      expect((await thumb(stranger).expect(404)).body.code).toBe('not_found');
      for (const width of ['79', '321', 'klein']) expect((await thumb(reader, `?width=${width}`).expect(400)).body.code).toBe('validation_failed');
      expect((await thumb(reader, '?size=1').expect(400)).body.code).toBe('validation_failed');
      // A ticket is no bearer token.
      const { ticket } = await t.openView(reader, docId);
      await thumb(ticket).expect(401);
    });
  });

  it('logs no ticket, title or reader name', () => {
    const logs = t.logs.join('');
    expect(logs).not.toMatch(/Ticket ey|"ticket":"ey/);
    expect(logs).not.toContain('Erika Mustermann');
    expect(logs).not.toContain('Bescheid');
  });
});
