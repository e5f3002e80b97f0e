/** The workspace by keyboard alone (development sign-in): every control is reached with Tab and works with Enter. */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type ServiceProcess } from '../../testkit/service-process.ts';
import { launchChromium } from '../../testkit/chromium.ts';

/** Presses Tab until `wanted` has focus (at most `limit` times); what had focus on the way. */
async function tabTo(page: Page, wanted: string, limit = 40): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    const here = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      return el ? (el.id ? `#${el.id}` : `${el.tagName.toLowerCase()}:${(el.textContent ?? '').trim()}`) : '';
    });
    seen.push(here);
    if (here === wanted) return seen;
  }
  throw new Error(`Tab never reached ${wanted}; reached ${seen.join(', ')}`);
}

describe('the workspace by keyboard alone', () => {
  let service: ServiceProcess;
  beforeAll(async () => {
    service = await startService({});
  });
  afterAll(() => service?.stop());

  it('signs in, moves between screens and reaches every control of a screen with Tab and Enter', async () => {
    const browser = await launchChromium({ width: 390, height: 844 });
    try {
      const page = await browser.context.newPage();
      await page.goto(`${service.url}/app/`);
      await page.locator('#dev-login').waitFor();
      await tabTo(page, '#dev-units');
      await page.keyboard.press('Enter');
      await page.locator('#sign-out').waitFor();
      // From the screen's heading: its fields, then (round the end of the page) the skip link and the header.
      const reached = await tabTo(page, '#sign-out', 60);
      expect(reached).toEqual(expect.arrayContaining(['#search-case', '#search-words', '#filter-status', '#filter-from', '#filter-to', 'button:Suchen', '#skip', 'a:Meine Dokumente', 'a:Prüfung', 'a:Erfassen', '#lang']));
      await tabTo(page, 'a:Erfassen', 60);
      await page.keyboard.press('Enter');
      await page.locator('#capture-form').waitFor();
      // The new screen's heading has focus, so the next Tab starts in the form.
      expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('H1');
      expect(await tabTo(page, '#capture-send')).toEqual(['#capture-title', '#capture-case', '#capture-office', '#capture-classification', '#capture-files', '#capture-send']);
      // Sending without a title: the browser's own check takes focus back to the field that is missing.
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.activeElement?.id === 'capture-title' && document.activeElement.matches(':invalid'));
      await tabTo(page, '#lang', 60);
      await page.keyboard.press('Enter');
      await page.locator('h1', { hasText: 'Capture' }).waitFor();
      await tabTo(page, '#sign-out');
      await page.keyboard.press('Enter');
      await page.locator('#dev-login').waitFor();
    } finally {
      await browser.close();
      await browser.remove();
    }
  });
});
