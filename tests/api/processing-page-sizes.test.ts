/**
 * Page sizes through the capture API, read back with poppler: an A4 page stays A4 and a landscape page
 * landscape (MARKING_LAYOUT=fit, the default), `extend` grows pages by the marking bands, and a 300 dpi
 * A4 PNG scan keeps its pixels.
 */
import request from 'supertest';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { attachCapture } from '../../testkit/capture-fixtures.ts';
import type { TestApp } from '../../testkit/test-app.ts';
import { withTestApp } from '../../testkit/with-test-app.ts';
import { embeddedJpegs } from '../fixtures/inspect.ts';
import { pdfinfo } from '../fixtures/pdf-readers.ts';
import { textPdf } from '../../testkit/fixtures/pdfs.ts';

const UNIT = 'BA-Format';

async function captureAndFetch(t: Pick<TestApp, 'app'>, token: string, files: Array<{ body: Uint8Array; contentType: string }>): Promise<Buffer> {
  const parts = files.map((f) => ({ body: Buffer.from(f.body), contentType: f.contentType }));
  const res = await attachCapture(request(t.app).post('/v1/documents').set('Authorization', `Bearer ${token}`), { title: 'Formate' }, parts);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const content = await request(t.app).get(`/v1/documents/${res.body.id}/content`).set('Authorization', `Bearer ${token}`).buffer(true).parse((r, cb) => {
    const chunks: Buffer[] = [];
    r.on('data', (c: Buffer) => chunks.push(c));
    r.on('end', () => cb(null, Buffer.concat(chunks)));
  });
  expect(content.status).toBe(200);
  return content.body as Buffer;
}

const rounded = (sizes: Array<[number, number]>) => sizes.map(([w, h]) => [Math.round(w), Math.round(h)]);

for (const layout of ['fit', 'extend'] as const) {
  describe(`MARKING_LAYOUT=${layout}`, () => {
    const t = withTestApp({ env: layout === 'fit' ? {} : { MARKING_LAYOUT: layout }, users: { formatter: { sub: 'u-format', roles: ['capture', 'read', 'export'], units: [UNIT] } } });

    it(layout === 'fit' ? 'keeps A4 portrait and A4 landscape page sizes' : 'grows every PDF page by the marking bands', async () => {
      const portrait = await textPdf(1);
      const landscape = await textPdf(1, { size: [841.89, 595.28] });
      const pdf = await captureAndFetch(t, t.tokens.formatter, [{ body: portrait, contentType: 'application/pdf' }, { body: landscape, contentType: 'application/pdf' }]);
      const { sizes } = await pdfinfo(pdf);
      // Bands: 24 pt header, 18 pt footer on A4; on landscape A4 the short side is the same, so the same bands.
      expect(rounded(sizes)).toEqual(layout === 'fit' ? [[595, 842], [842, 595]] : [[595, 884], [842, 637]]);
    });

    it('makes a 300 dpi A4 PNG scan an A4 page that keeps every pixel', async () => {
      const [w, h] = [2480, 3508];
      const png = await sharp({ create: { width: w, height: h, channels: 3, background: '#ffffff' } })
        .composite([{ input: Buffer.from(`<svg width="${w}" height="${h}"><text x="200" y="600" font-size="120">Scan 300 dpi</text></svg>`) }])
        .png()
        .toBuffer();
      const pdf = await captureAndFetch(t, t.tokens.formatter, [{ body: png, contentType: 'image/png' }]);
      expect(rounded((await pdfinfo(pdf)).sizes)).toEqual([[595, 842]]);
      const [jpeg] = await embeddedJpegs(pdf);
      const meta = await sharp(jpeg!).metadata();
      expect([meta.width, meta.height]).toEqual([w, h]);
    });
  });
}
