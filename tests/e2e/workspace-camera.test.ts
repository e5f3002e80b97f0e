/**
 * Camera capture in the workspace on a phone (390×844, touch) with Chromium's fake camera showing a
 * generated photo: four pages taken in a row, the sheet's corners found in the browser before any
 * drag, one deleted, one corner dragged with a finger, one page retaken, all sent as one document
 * encrypted in the browser (checked by Python jwcrypto); the rendition has three pages (pdfinfo), the
 * service used the corners sent for each, nothing stays in the profile.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { JWK } from 'jose';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesContaining, newMarker } from '../../testkit/capture-fixtures.ts';
import { jwcryptoDecrypt } from '../../testkit/jwe-fixtures.ts';
import { keysEnv, startService, type ServiceProcess } from '../../testkit/service-process.ts';
import { launchChromium } from '../../testkit/chromium.ts';
import { expectAccessible } from './support/axe.ts';
import { expectStrictHeaders, recordResponses } from './support/strict-headers.ts';
import { CAMERA, fakeCameraFile, SHEET } from '../../testkit/fake-camera.ts';
import { multipartParts, recordingProxy, type RecordingProxy } from './support/workspace.ts';

const run = promisify(execFile);
const UNIT = 'BA-Feld';
/** How far a found corner may be from the sheet's true one: 2 % of the frame's longer side. */
const FOUND_WITHIN = 0.02 * CAMERA.width;

type Point = [number, number];
const near = (found: Point[], truth: Array<readonly [number, number]>) => found.every((p, i) => Math.hypot(p[0] - truth[i]![0], p[1] - truth[i]![1]) <= FOUND_WITHIN);

describe('camera capture in the workspace (fake camera, phone size, touch)', () => {
  let service: ServiceProcess;
  let proxy: RecordingProxy;
  let ingestKeys: JWK[];
  let dir: string;
  let y4m: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vsc-camera-'));
    y4m = await fakeCameraFile(dir);
    const keys = await keysEnv();
    ingestKeys = (JSON.parse(keys.INGEST_KEYS!) as { keys: JWK[] }).keys;
    service = await startService(keys);
    proxy = await recordingProxy(service.url);
  });
  afterAll(async () => {
    await proxy?.close();
    await service?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function decrypt(compact: string): Promise<Buffer> {
    const { kid } = JSON.parse(Buffer.from(compact.split('.')[0]!, 'base64url').toString()) as { kid: string };
    return jwcryptoDecrypt(ingestKeys.find((k) => k.kid === kid)!, compact);
  }

  it('takes pages in a row, deletes one, drags a corner, retakes one and sends them as one document', async () => {
    const title = `Ortstermin ${newMarker()}`;
    const caseNumber = `AZ ${newMarker()}`;
    const browser = await launchChromium(
      { width: 390, height: 844 },
      { args: ['--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`], permissions: ['camera'], phone: true },
    );
    const page = await browser.context.newPage();
    const seen = recordResponses(page, proxy.url);
    const tokens: string[] = [];
    page.on('response', (res) => void (res.url().endsWith('/v1/dev/token') && res.json().then((b: { access_token?: string }) => b.access_token && tokens.push(b.access_token), () => undefined)));
    let id: string;
    try {
      await page.goto(`${proxy.url}/app/`);
      await page.fill('#dev-sub', 'feld');
      await page.fill('#dev-name', 'Frieda Feld');
      await page.fill('#dev-units', UNIT);
      await page.click('#dev-login button[type="submit"]');
      await page.locator('#sign-out').waitFor();
      await page.tap('a[href="#/camera"]');
      await page.locator('#camera-shoot:enabled').waitFor();
      expect(await page.textContent('h1')).toBe('Mit der Kamera erfassen');
      await expectAccessible(page, 'camera (390×844)');

      // Four pages one after another, no dialog between them.
      for (const n of [1, 2, 3, 4]) {
        await page.tap('#camera-shoot');
        await page.locator('#camera-status', { hasText: `Seite ${n} aufgenommen.` }).waitFor();
      }
      expect(await page.locator('#camera-pages li').count()).toBe(4);
      // The fourth is deleted.
      await page.tap('#shot-3');
      await page.tap('#camera-delete');
      await page.locator('#camera-status', { hasText: 'Seite 4 gelöscht.' }).waitFor();
      expect(await page.locator('#camera-pages li').count()).toBe(3);

      // Page 2: before any drag its handles sit on the sheet's corners, found in the browser.
      await page.tap('#shot-1');
      await page.locator('#corner-editor').waitFor();
      await expectAccessible(page, 'corner preview (390×844)');
      const cornerAt = async (i: number) => /\((\d+), (\d+)\)/.exec((await page.getAttribute(`#corner-${i}`, 'aria-label'))!)!.slice(1).map(Number) as Point;
      const found = await Promise.all([0, 1, 2, 3].map(cornerAt));
      expect(near(found, SHEET), `found ${JSON.stringify(found)}, the sheet is at ${JSON.stringify(SHEET)}`).toBe(true);
      // Then its top-left corner dragged with a finger.
      const box = (await page.locator('#corner-editor canvas').boundingBox())!;
      const from = (await page.locator('#corner-0').boundingBox())!;
      const start = { x: from.x + from.width / 2, y: from.y + from.height / 2 };
      const by = { x: 70, y: 30 };
      const cdp = await browser.context.newCDPSession(page);
      const touch = (type: 'touchStart' | 'touchMove' | 'touchEnd', x: number, y: number) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: type === 'touchEnd' ? [] : [{ x, y }] });
      await touch('touchStart', start.x, start.y);
      for (let step = 1; step <= 5; step++) await touch('touchMove', start.x + (by.x * step) / 5, start.y + (by.y * step) / 5);
      await touch('touchEnd', 0, 0);
      const expected = [found[0]![0] + Math.round((by.x / box.width) * CAMERA.width), found[0]![1] + Math.round((by.y / box.height) * CAMERA.height)];
      expect(await page.getAttribute('#corner-0', 'aria-label')).toMatch(/^Ecke oben links/);
      const moved = await cornerAt(0);
      for (const i of [0, 1]) expect(Math.abs(moved[i]! - expected[i]!)).toBeLessThanOrEqual(4);
      await page.tap('#camera-done');

      // Page 3 retaken: the camera again, then the new photo in place of the old.
      await page.tap('#shot-2');
      await page.tap('#camera-retake');
      expect(await page.textContent('#camera-shoot')).toBe('Seite 3 neu aufnehmen');
      await page.tap('#camera-shoot');
      await page.locator('#camera-status', { hasText: 'Seite 3 neu aufgenommen.' }).waitFor();
      expect(await page.locator('#camera-pages li').count()).toBe(3);
      await page.tap('#camera-done');

      await page.fill('#camera-title', title);
      await page.fill('#camera-case', caseNumber);
      expect(await page.textContent('#camera-send')).toBe('3 Seiten verschlüsseln und senden');
      await page.tap('#camera-send');
      await page.locator('#captured-link').waitFor();
      expect(await page.textContent('h1')).toBe('Erfasst: 3 Seiten.');
      id = (await page.getAttribute('#captured-link', 'href'))!.split('/').pop()!;
      // The result screen turned the camera off.
      await page.waitForFunction(() => !document.querySelector('video'));

      // On the wire: one metadata JWE and three JPEG JWEs; every page carries corners: the found ones, page 2's as dragged.
      const [sent] = proxy.bodies('/v1/documents');
      const parts = multipartParts(String(sent!.headers['content-type']), sent!.body);
      expect(parts.map((p) => [p.name, p.type])).toEqual([['metadata', 'application/jose'], ...Array(3).fill(['file', 'application/jose'])]);
      const metadata = JSON.parse((await decrypt(parts[0]!.body.toString('latin1'))).toString('utf8'));
      expect(metadata).toMatchObject({ title, caseNumber, source: 'camera' });
      expect(metadata.corners).toHaveLength(3);
      expect(metadata.corners[1]).toEqual([moved, ...found.slice(1)]);
      for (const i of [0, 2]) expect(near(metadata.corners[i], SHEET), `page ${i + 1}: ${JSON.stringify(metadata.corners[i])}`).toBe(true);
      for (const part of parts.slice(1)) expect(await sharp(await decrypt(part.body.toString('latin1'))).metadata()).toMatchObject({ format: 'jpeg', ...CAMERA });

      await page.tap('#sign-out');
      await page.locator('#dev-login').waitFor();
    } finally {
      await browser.close();
    }

    try {
      // The service used the corners; its rendition has three pages (poppler's count).
      const token = tokens.at(-1)!;
      const doc = (await (await fetch(`${service.url}/v1/documents/${id}`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
        pageCount: number;
        transferNote: { findings: Array<{ code: string; part?: number }> };
      };
      expect(doc.pageCount).toBe(3);
      expect(doc.transferNote.findings.filter((f) => f.code === 'page_corners_applied').map((f) => f.part)).toEqual([1, 2, 3]);
      const pdf = Buffer.from(await (await fetch(`${service.url}/v1/documents/${id}/content`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer());
      await writeFile(path.join(dir, 'rendition.pdf'), pdf);
      expect((await run('pdfinfo', [path.join(dir, 'rendition.pdf')])).stdout).toMatch(/^Pages:\s+3$/m);

      expectStrictHeaders(seen);
      for (const needle of [title, caseNumber, ...tokens.map((tk) => tk.slice(-40))]) expect(await filesContaining(browser.profileDir, needle), `found in the profile: ${needle.slice(0, 20)}`).toEqual([]);
    } finally {
      await browser.remove();
    }
  }, 240_000);
});
