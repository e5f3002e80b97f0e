/**
 * Issue #11 item 2: a viewer page is bounded in pixels however tall the PDF page is. Receipt-like pages
 * (10 × 14 400 pt and 1 × 14 400 pt) answer a bounded WebP as wide as asked, never a 5xx, and the
 * process's memory stays bounded while they render.
 */
import request from 'supertest';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawPdf, streamObject } from '../fixtures/hostile-pdfs.ts';
import { startViewerApp, type ViewerTestApp } from '../../testkit/viewer-app.ts';

const UNIT = 'BA-Kasse';
/** RSS growth bound of the whole test process while one such page renders (the unbounded renderer took 4.4 GB). */
const RSS_GROWTH_BOUND = 300 * 2 ** 20;

/** One page of the given size in points, filled black (so its pixels can be found again). */
function tallPage(widthPt: number, heightPt: number): Buffer {
  return rawPdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${widthPt} ${heightPt}] /Contents 4 0 R >>`,
    streamObject(`0 g 0 0 ${widthPt} ${heightPt} re f`),
  ]);
}

describe('viewer pages of very tall PDF pages', () => {
  let t: ViewerTestApp;
  let reader: string;
  let capturer: string;

  beforeAll(async () => {
    t = await startViewerApp();
    capturer = await t.token({ sub: 'u-cap', roles: ['capture'], units: [UNIT] });
    reader = await t.token({ sub: 'u-read', name: 'Erika Mustermann', roles: ['read'], units: [UNIT] });
  });
  afterAll(() => t.close());

  for (const [widthPt, widthPx] of [[10, 400], [1, 2000], [10, 2000]] as const) {
    it(`a ${widthPt} × 14400 pt page at width ${widthPx}: a bounded WebP, as wide as asked, the page in it`, async () => {
      const id = await t.capture(capturer, tallPage(widthPt, 14_400), 'Kassenbon');
      const { ticket } = await t.openView(reader, id);
      const before = process.memoryUsage.rss();
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
      const res = await request(t.app).get(`/view-api/documents/${id}/pages/1?width=${widthPx}`).set('Authorization', `Ticket ${ticket}`).buffer(true);
      clearInterval(sampler);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.headers['content-type']).toBe('image/webp');
      const { data, info } = await sharp(res.body as Buffer).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
      expect(info.width).toBe(widthPx);
      expect(info.height).toBeLessThanOrEqual(16_383);
      expect(info.width * info.height).toBeLessThanOrEqual(16_000_000);
      // The page itself is drawn (black, grey where it is narrower than a pixel), not only the white canvas around it.
      let dark = 0;
      for (const v of data) if (v < 250) dark++;
      expect(dark).toBeGreaterThan(info.height / 4);
      expect(peak - before).toBeLessThan(RSS_GROWTH_BOUND);
    });
  }
});
