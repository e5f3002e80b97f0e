/**
 * The viewer asked to wait (429 with Retry-After: the reader's share of renders is taken) retries
 * after that time and shows the page. The reader's share is held by thumbnails at a render gate.
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pdfWithText } from '../../testkit/capture-fixtures.ts';
import { renderGate } from '../support/render-gate.ts';
import { launchChromium } from '../../testkit/chromium.ts';
import { startViewerApp, type ViewerTestApp } from '../../testkit/viewer-app.ts';

const UNIT = 'BA-Nord';

describe('the viewer under render admission (real Chromium)', () => {
  let t: ViewerTestApp;
  let base: string;
  const gate = renderGate();

  beforeAll(async () => {
    t = await startViewerApp({}, { wrapRenderer: gate.wrap });
    base = await t.listen();
  });
  afterAll(async () => {
    gate.release();
    await t.close();
  });

  it('retries a page refused with 429 after Retry-After and shows it', async () => {
    const capturer = await t.token({ sub: 'u-cap', roles: ['capture'], units: [UNIT] });
    const reader = await t.token({ sub: 'u-read', name: 'Erika Mustermann', roles: ['read'], units: [UNIT] });
    const docId = await t.capture(capturer, await pdfWithText('Seite', 1), 'Bescheid');
    // Two thumbnails of the same reader take its whole share and wait at the gate.
    const held = [80, 96].map((width) => request(t.app).get(`/v1/documents/${docId}/thumbnail?width=${width}`).set('Authorization', `Bearer ${reader}`).then((res) => res.status));
    await gate.until(2);

    const { viewerUrl } = await t.openView(reader, docId);
    const parsed = new URL(viewerUrl);
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      const refused = page.waitForResponse((res) => res.url().includes('/pages/1?') && res.status() === 429);
      const served = page.waitForResponse((res) => res.url().includes('/pages/1?') && res.status() === 200);
      await page.goto(`${base}${parsed.pathname}${parsed.hash}`);
      const answer = await refused;
      expect(answer.headers()['retry-after']).toBe('1');
      expect(answer.headers()['content-type']).toMatch(/^application\/problem\+json/);

      gate.release();
      await page.locator('.page[data-page="1"][data-state="loaded"] img').waitFor();
      await served;
      // No failure on screen: the refusal was waited out, not shown.
      expect(await page.locator('.page[data-page="1"] img').count()).toBe(1);
    } finally {
      await browser.close();
      await browser.remove();
    }
    expect(await Promise.all(held)).toEqual([200, 200]);
  });
});
