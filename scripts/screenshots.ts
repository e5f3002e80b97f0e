/**
 * Screenshots of every workspace screen and the viewer at 1280×800 and 390×844 into docs/screenshots/
 * (`npx tsx scripts/screenshots.ts`): the service in development mode on a fresh data directory, one
 * generated 3-page document, Debian's Chromium through playwright-core. Nothing here is drawn by hand.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { pdfWithText } from '../testkit/capture-fixtures.ts';
import { startService } from '../testkit/service-process.ts';
import { fakeCameraFile } from '../testkit/fake-camera.ts';

const OUT = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
];
const USER = { sub: 'erika', name: 'Erika Mustermann', roles: ['capture', 'read', 'export', 'review', 'audit'], units: ['BA-Musterstadt'] };

const service = await startService({});
const cameraDir = await mkdtemp(path.join(tmpdir(), 'vsc-screens-'));
try {
  await mkdir(OUT, { recursive: true });
  const token = ((await (await fetch(`${service.url}/v1/dev/token`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(USER) })).json()) as { access_token: string }).access_token;
  const form = new FormData();
  form.append('metadata', JSON.stringify({ title: 'Anhörungsbogen Verkehrsordnungswidrigkeit', caseNumber: 'AZ 12-345/26', source: 'scanner', issuingOffice: 'Bürgeramt Musterstadt' }));
  form.append('file', new Blob([new Uint8Array(await pdfWithText('Anhörungsbogen', 3))], { type: 'application/pdf' }), 'scan.pdf');
  const doc = (await (await fetch(`${service.url}/v1/documents`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: form })).json()) as { id: string };
  // The camera screens show Chromium's fake camera playing a generated photo of a sheet on a desk.
  const camera = ['--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${await fakeCameraFile(cameraDir)}`];
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', ...camera] });
  try {
    for (const viewport of VIEWPORTS) {
      const page = await browser.newPage({ viewport, permissions: ['camera'] });
      const shot = (name: string) => page.screenshot({ path: `${OUT}${name}-${viewport.width}x${viewport.height}.png`, fullPage: false });
      await page.goto(`${service.url}/app/`);
      await page.locator('#dev-login').waitFor();
      await shot('sign-in');
      await signIn(page);
      await page.locator('#results img.thumbnail:not([hidden])').waitFor();
      await shot('documents');
      await page.click(`a[href="#/documents/${doc.id}"]`);
      await page.locator('#audit table').waitFor();
      await shot('document');
      await page.click('a[href="#/review"]');
      await page.locator('#results img.thumbnail:not([hidden])').waitFor();
      await shot('review');
      await page.click('a[href="#/capture"]');
      await page.locator('#capture-form').waitFor();
      await shot('capture');
      await page.click('a[href="#/camera"]');
      await page.locator('#camera-shoot:enabled').waitFor();
      for (const n of [1, 2]) {
        await page.click('#camera-shoot');
        await page.locator('#camera-status', { hasText: `Seite ${n} aufgenommen.` }).waitFor();
      }
      await shot('camera');
      await page.click('#shot-0');
      await page.locator('#corner-editor').waitFor();
      await shot('camera-corners');
      const view = (await (await fetch(`${service.url}/v1/documents/${doc.id}/views`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } })).json()) as { viewerUrl: string };
      await page.goto(view.viewerUrl);
      await page.locator('.page[data-page="1"][data-state="loaded"]').waitFor();
      await shot('viewer');
      await page.close();
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(`screenshots in ${OUT}\n`);
} finally {
  await service.stop();
  await rm(cameraDir, { recursive: true, force: true });
}

/** The development login with the roles above. */
async function signIn(page: Page): Promise<void> {
  await page.locator('#dev-login').waitFor();
  await page.fill('#dev-units', USER.units[0]!);
  await page.check('input[value="audit"]');
  await page.click('#dev-login button[type="submit"]');
  await page.locator('#sign-out').waitFor();
}
