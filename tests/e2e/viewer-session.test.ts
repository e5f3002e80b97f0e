/**
 * The viewer over a whole reading session (issue #14): a 20-second ticket renewed while the reader
 * reads, expiry only when idle (explained, with a way back), a reload explained, title and Aktenzeichen
 * shown with a neutral window title, "ganze Seite", and nothing usable after "Schließen". The browser's
 * timers run on Playwright's clock and the service's on the test's, so two minutes pass without waiting.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newMarker, pdfWithText } from '../../testkit/capture-fixtures.ts';
import { startViewerApp, type ViewerTestApp } from '../../testkit/viewer-app.ts';
import { launchChromium } from '../../testkit/chromium.ts';
import { expectAccessible } from './support/axe.ts';

const UNIT = 'BA-Nord';
const TICKET_SECONDS = 20;
/** The viewer's own idle bound (viewer/src/main.ts), passed on the page's clock. */
const IDLE_MS = 10 * 60_000;

describe('the viewer over a reading session with a 20-second ticket', () => {
  let t: ViewerTestApp;
  let base: string;
  let reader: string;
  let docId: string;
  const title = `Bescheid ${newMarker()}`;
  const caseNumber = `AZ ${newMarker()}`;

  beforeAll(async () => {
    t = await startViewerApp({ VIEW_TICKET_TTL_SECONDS: String(TICKET_SECONDS) });
    base = await t.listen();
    const capturer = await t.token({ sub: 'u-cap', roles: ['capture'], units: [UNIT] });
    reader = await t.token({ sub: 'u-read', name: 'Erika Mustermann', roles: ['read'], units: [UNIT] });
    docId = await t.capture(capturer, await pdfWithText('Seite', 3), title, { caseNumber });
  });
  afterAll(() => t.close());

  /** The viewer on a fresh profile; `clock`: its timers on Playwright's clock (which also hides the navigation timing). */
  async function withViewer(fn: (page: Page) => Promise<void>, clock = true, viewport?: { width: number; height: number }): Promise<void> {
    const browser = await launchChromium(viewport, viewport ? { phone: true } : {});
    try {
      const page = await browser.context.newPage();
      if (clock) await page.clock.install();
      const { viewerUrl } = await t.openView(reader, docId);
      const url = new URL(viewerUrl);
      await page.goto(`${base}${url.pathname}${url.hash}`);
      await page.locator('.page[data-page="1"][data-state="loaded"] img').waitFor();
      await fn(page);
    } finally {
      await browser.close();
      await browser.remove();
    }
  }

  it('lasts two minutes of reading without losing a page: the ticket renews itself', async () => {
    await withViewer(async (page) => {
      expect(await page.textContent('#doc-title')).toBe(title);
      expect(await page.textContent('#doc-case')).toBe(caseNumber);
      expect(await page.title()).toBe('VS-Capture Dokumentansicht');
      await expectAccessible(page, 'viewer');
      for (let second = 0; second < 120; second += TICKET_SECONDS / 2) {
        t.advanceClock((TICKET_SECONDS / 2) * 1000);
        const renewed = page.waitForResponse((res) => res.url().endsWith(`/view-api/documents/${docId}/ticket`));
        // Reading: paging back and forth.
        await page.locator('#pages').focus();
        await page.keyboard.press(second % 20 ? 'ArrowLeft' : 'ArrowRight');
        await page.clock.fastForward((TICKET_SECONDS / 2) * 1000);
        expect((await renewed).status()).toBe(200);
      }
      // Two minutes of service time later (six ticket lifetimes): a page not loaded yet still arrives.
      await page.fill('#page-input', '3');
      await page.press('#page-input', 'Enter');
      await page.locator('.page[data-page="3"][data-state="loaded"] img').waitFor();
      expect(await page.locator('.page[data-state="loaded"] img').count()).toBe(3);
      expect(await page.locator('#error').isHidden()).toBe(true);
      // At least one renewal per step; the page's clock also flows with wall time, so a loaded machine adds some (15 seen in a stress run).
      expect(Number(await page.evaluate(() => document.body.dataset.renewals))).toBeGreaterThanOrEqual(12);
      // Every page view was recorded under the one ticket id of this session.
      const views = t.recorded.filter((e) => e.type === 'page_viewed' && e.documentId === docId);
      expect(new Set(views.map((e) => (e as { ticketId: string }).ticketId)).size).toBe(1);
    });
  });

  it('expires only when the reader is idle, then explains it and offers the way back', async () => {
    await withViewer(async (page) => {
      await page.clock.fastForward(IDLE_MS + TICKET_SECONDS * 1000);
      await page.clock.fastForward(TICKET_SECONDS * 1000);
      await page.locator('#error[data-failure="expired"]').waitFor();
      expect(await page.textContent('#error-title')).toBe('Der Link ist abgelaufen');
      expect(await page.getAttribute('#error a', 'href')).toBe('/app/');
      await expectAccessible(page, 'viewer expired');
      expect(await page.locator('.page').count()).toBe(0);
    });
  });

  it('explains a reload instead of saying "Kein Zugriff"', async () => {
    await withViewer(async (page) => {
      await page.reload();
      await page.locator('#error[data-failure="reloaded"]').waitFor();
      expect(await page.textContent('#error-title')).toBe('Die Ansicht wurde neu geladen');
    }, false);
  });

  it('"Ganze Seite" fits a whole page into the view; after "Schließen" no control works and Chromium accepts Clear-Site-Data', async () => {
    await withViewer(async (page) => {
      const warnings: string[] = [];
      page.on('console', (msg) => void warnings.push(msg.text()));
      await page.click('#fit-page');
      await expect.poll(() => page.evaluate(() => {
        const view = document.querySelector('#pages')!.getBoundingClientRect();
        const first = document.querySelector('.page')!.getBoundingClientRect();
        return first.height <= view.height && first.width < view.width;
      })).toBe(true);
      const closing = page.waitForResponse((res) => res.url().endsWith('/view-api/close'));
      await page.click('#close');
      await closing;
      await page.locator('#error[data-failure="closed"]').waitFor();
      const enabled = await page.locator('.toolbar button:enabled, .toolbar input:enabled').evaluateAll((els) => els.map((e) => e.id));
      // Only the language (and, on phones, the ⋯ button that shows it).
      expect(enabled).toEqual(['more', 'lang']);
      await page.keyboard.press('ArrowRight');
      expect(await page.locator('.page').count()).toBe(0);
      // Chromium applied the header instead of refusing it ("The request's credentials mode prohibits modifying cookies and other local data").
      await expect.poll(() => warnings.filter((w) => /Clear-Site-Data/.test(w))).toEqual([expect.stringContaining('Cleared data types: "cache", "storage"')]);
    });
  });

  it('on a phone (390×844) keeps its controls in one row and the rest behind ⋯, reachable by thumb and keyboard', async () => {
    await withViewer(
      async (page) => {
        const height = async () => (await page.locator('.toolbar').boundingBox())!.height;
        // One row of 44 px controls.
        expect(await height()).toBeLessThan(60);
        expect(await page.locator('#close').isVisible()).toBe(false);
        expect(await page.getAttribute('#more', 'aria-expanded')).toBe('false');
        await page.locator('.page[data-page="1"]').waitFor();
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
        await expectAccessible(page, 'viewer toolbar (390×844)');
        await page.tap('#more');
        expect(await page.getAttribute('#more', 'aria-expanded')).toBe('true');
        await page.locator('#close').waitFor();
        await expectAccessible(page, 'viewer toolbar opened (390×844)');
        // Keyboard: from ⋯ the next stop is the language, then "Schließen".
        await page.focus('#more');
        await page.keyboard.press('Tab');
        expect(await page.evaluate(() => document.activeElement?.id)).toBe('lang');
        await page.keyboard.press('Tab');
        expect(await page.evaluate(() => document.activeElement?.id)).toBe('close');
        await page.tap('#more');
        expect(await page.locator('#close').isVisible()).toBe(false);
      },
      false,
      { width: 390, height: 844 },
    );
  });
});
