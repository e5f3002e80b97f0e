import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import type { Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesContaining, newMarker, pdfWithText } from '../../testkit/capture-fixtures.ts';
import { startViewerApp, type ViewerTestApp } from '../../testkit/viewer-app.ts';
import { launchChromium, type Browser } from '../../testkit/chromium.ts';
import { expectStrictHeaders } from './support/strict-headers.ts';
import { renderedPagePng } from '../fixtures/inspect.ts';

const UNIT = 'BA-Nord';

/** Every response the page received, with its headers. */
function record(page: Page): Array<{ url: string; headers: Record<string, string> }> {
  const seen: Array<{ url: string; headers: Record<string, string> }> = [];
  page.on('response', (res: Response) => void seen.push({ url: res.url(), headers: res.headers() }));
  return seen;
}

/** Grey levels of an image, as numbers 0..255. */
async function grey(image: Uint8Array): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(image).greyscale().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

describe('the viewer in a real Chromium (Debian package, driven by playwright-core)', () => {
  let t: ViewerTestApp;
  let base: string;
  let reader: string;
  let docId: string;
  let rendition: Buffer;
  const title = `Bescheid ${newMarker()}`;

  beforeAll(async () => {
    t = await startViewerApp();
    base = await t.listen();
    const capturer = await t.token({ sub: 'u-cap', roles: ['capture', 'export'], units: [UNIT] });
    reader = await t.token({ sub: 'u-read', name: 'Erika Mustermann', roles: ['read'], units: [UNIT] });
    docId = await t.capture(capturer, await pdfWithText('Seite', 3), title);
    const content = await t.deps.documents.content((await t.deps.authenticator.authenticate(capturer)), docId, { variant: 'rendition' });
    rendition = Buffer.concat(await (await content.open()).toArray());
  });
  afterAll(() => t.close());

  /** The viewer URL the API handed out, on the listening server. */
  async function viewerUrl(): Promise<string> {
    const { viewerUrl: url } = await t.openView(reader, docId);
    const parsed = new URL(url);
    return `${base}${parsed.pathname}${parsed.hash}`;
  }

  async function withBrowser<T>(fn: (page: Page, browser: Browser) => Promise<T>): Promise<T> {
    const browser = await launchChromium();
    try {
      return await fn(await browser.context.newPage(), browser);
    } finally {
      await browser.close();
      await browser.remove();
    }
  }

  it('shows page 1 rendered with the reader watermark burned in, navigates, and leaves nothing in the profile', async () => {
    const browser = await launchChromium();
    const page = await browser.context.newPage();
    const seen = record(page);
    try {
      await page.goto(await viewerUrl());
      const first = page.locator('.page[data-page="1"][data-state="loaded"] img');
      await first.waitFor();
      // The ticket left the address bar at once.
      expect(page.url()).toBe(`${base}/viewer/`);
      expect(await page.locator('#page-count').textContent()).toBe('von 3');

      // Page 1: real pixels on screen, not a blank sheet.
      const shot = await grey(await first.screenshot());
      expect(shot.data.filter((v) => v < 128).length).toBeGreaterThan(200);

      // Watermark: the served image differs from the plain render of the same page at the same width.
      const served = t.servedImages.find((s) => s.url.includes(`/pages/1?`))!;
      const width = Number(new URL(served.url, base).searchParams.get('width'));
      const marked = await grey(served.body!);
      const plain = await grey((await renderedPagePng(rendition, 0, width)).bytes);
      expect([marked.width, marked.height]).toEqual([plain.width, plain.height]);
      let differing = 0;
      for (let i = 0; i < plain.data.length; i++) if (Math.abs(plain.data[i]! - marked.data[i]!) > 24) differing++;
      expect(differing / plain.data.length).toBeGreaterThan(0.01);
      expect(t.recorded).toContainEqual(expect.objectContaining({ type: 'page_viewed', documentId: docId, page: 1, readerSub: 'u-read' }));

      // Navigation: button, page number input, keyboard.
      await page.click('#next');
      await pageInputShows(page, '2');
      await page.locator('.page[data-page="2"][data-state="loaded"]').waitFor();
      await page.fill('#page-input', '3');
      await page.press('#page-input', 'Enter');
      await page.locator('.page[data-page="3"][data-state="loaded"]').waitFor();
      await pageInputShows(page, '3');
      await page.locator('#pages').focus();
      await page.keyboard.press('ArrowLeft');
      await pageInputShows(page, '2');
      await page.click('#zoom-in');
      expect(await page.textContent('#zoom-level')).toBe('125\u00a0%');

      // Nothing kept by the page itself.
      expect(await page.evaluate(() => localStorage.length + sessionStorage.length)).toBe(0);
      expect(await page.evaluate(async () => (await indexedDB.databases()).length)).toBe(0);
      expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).length)).toBe(0);
      expect(await page.locator('img[src^="blob:"]').count()).toBeGreaterThan(0);
      expect(await page.evaluate(async () => {
        // Object URLs are revoked once decoded: the image cannot be fetched again from the page.
        const src = document.querySelector('img')!.src;
        return fetch(src).then(() => 'readable', () => 'revoked');
      })).toBe('revoked');

      const closing = page.waitForResponse((res) => res.url().endsWith('/view-api/close'));
      await page.click('#close');
      await page.locator('#error[data-failure="closed"]').waitFor();
      expect((await (await closing).allHeaders())['clear-site-data']).toBe('"cache", "storage"');
      expect(await page.locator('.page').count()).toBe(0);

      // Every response of the service carried the no-trace headers.
      // blob: URLs are the page's own object URLs, not responses of the service.
      const own = seen.filter((s) => s.url.startsWith(base));
      expect(own.length).toBeGreaterThan(5);
      expectStrictHeaders(own);
      for (const s of own) expect(s.headers['permissions-policy'], s.url).toContain('camera=()');
    } finally {
      await browser.close();
    }
    try {
      // After closing: no bytes of any page image (compressed image data is unique) and no title in the profile.
      const images = t.servedImages.map((s) => s.body);
      expect(images.length).toBeGreaterThanOrEqual(3);
      const needles = [title, ...images.map((b) => b.subarray(b.length >> 1, (b.length >> 1) + 48).toString('latin1'))];
      for (const needle of needles) expect(await filesContaining(browser.profileDir, needle), 'marker found in profile').toEqual([]);
    } finally {
      await browser.remove();
    }
  });

  it('the profile search finds a marker that a cacheable response left behind (control)', async () => {
    const marker = newMarker();
    const server = createServer((_req, res) => {
      res.setHeader('Cache-Control', 'private, max-age=3600');
      res.setHeader('Content-Type', 'text/html');
      res.end(`<!doctype html><p>${marker}</p>`);
    }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      await browser.close();
      expect(await filesContaining(browser.profileDir, marker)).not.toEqual([]);
    } finally {
      server.close();
      await browser.remove();
    }
  });

  it('an expired ticket shows the German error page, with English available', async () => {
    const url = await viewerUrl();
    t.advanceClock(11 * 60_000);
    try {
      await withBrowser(async (page) => {
        await page.goto(url);
        await page.locator('#error[data-failure="expired"]').waitFor();
        expect(await page.textContent('#error-title')).toBe('Der Link ist abgelaufen');
        expect(await page.getAttribute('html', 'lang')).toBe('de');
        await page.click('#lang');
        expect(await page.textContent('#error-title')).toBe('This link has expired');
        expect(await page.getAttribute('html', 'lang')).toBe('en');
      });
    } finally {
      t.advanceClock(-11 * 60_000);
    }
  });

  it('a link with a forged ticket shows "Kein Zugriff"', async () => {
    await withBrowser(async (page) => {
      await page.goto(`${base}/viewer/#ticket=e30.e30.e30&doc=${docId}`);
      await page.locator('#error[data-failure="noAccess"]').waitFor();
      expect(await page.textContent('#error-title')).toBe('Kein Zugriff');
    });
  });

  it('prints a notice instead of the pages', async () => {
    await withBrowser(async (page) => {
      await page.goto(await viewerUrl());
      await page.locator('.page[data-state="loaded"]').first().waitFor();
      await page.emulateMedia({ media: 'print' });
      expect(await page.locator('#pages').isVisible()).toBe(false);
      expect(await page.locator('.toolbar').isVisible()).toBe(false);
    });
  });
});

/** Waits (Playwright's own wait, up to its 30 s default) until the page number field shows `value`: scrolling settles when the browser gets to it. */
function pageInputShows(page: Page, value: string): Promise<unknown> {
  return page.waitForFunction((expected) => (document.querySelector('#page-input') as HTMLInputElement | null)?.value === expected, value);
}
