/**
 * The workspace (/app) in Debian's Chromium against a real OpenID provider (oidc-provider) and the
 * service as its own process: sign-in with code + PKCE, silent renewal, desk capture encrypted in the
 * browser (checked by Python jwcrypto), search, the document page, viewing, review, the audit trail,
 * hostile values shown as text, and nothing left in the profile afterwards.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JWK } from 'jose';
import type { Page, Response } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesContaining, jpegWithMarker, newMarker, pdfWithText } from '../../testkit/capture-fixtures.ts';
import { jwcryptoDecrypt } from '../../testkit/jwe-fixtures.ts';
import { germanPage } from '../../testkit/fixtures/photos.ts';
import { keysEnv, startService, type ServiceProcess } from '../../testkit/service-process.ts';
import { startOpenIdProvider, type OpenIdProvider } from '../support/openid-provider.ts';
import { selfSigned } from '../support/self-signed.ts';
import { launchChromium, type Browser } from '../../testkit/chromium.ts';
import { expectStrictHeaders, recordResponses } from './support/strict-headers.ts';
import { expectAccessible } from './support/axe.ts';
import { dropFiles, multipartParts, recordingProxy, signIn, type RecordingProxy } from './support/workspace.ts';

const AUDIENCE = 'vs-capture';
const CLIENT = 'vs-capture-workspace';
const UNIT = 'BA-Nord';
/** Short enough that the session renews its token while the test runs. */
const CASEWORKER_TOKEN_SECONDS = 20;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('the workspace in a real Chromium against a real OpenID provider', () => {
  let idp: OpenIdProvider;
  let service: ServiceProcess;
  /** What the browser talks to: the service behind a proxy that keeps the bodies sent. */
  let proxy: RecordingProxy;
  let base: string;
  let ingestKeys: JWK[];
  let dir: string;
  /** Chromium trusts the provider's throwaway certificate, that key only. */
  let trustProvider: string[];
  // Markup and a 200-letter word; bidi controls the service refuses in metadata, so they arrive through
  // a name from the provider: a right-to-left override that would turn the text after it around.
  const hostileTitle = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> ${'Ü'.repeat(200)}`;
  const hostileCase = '<b>AZ</b>&amp;"1"';
  const hostileName = '\u202EnirefürP <i>Mallory</i>';

  beforeAll(async () => {
    // The provider over https on another site (localhost, the service on 127.0.0.1), as in production.
    dir = await mkdtemp(path.join(tmpdir(), 'vsc-workspace-'));
    const tls = await selfSigned(dir);
    trustProvider = [`--ignore-certificate-errors-spki-list=${tls.spki}`];
    idp = await startOpenIdProvider({
      audience: AUDIENCE,
      tls: { key: tls.key, cert: tls.cert, host: 'localhost' },
      personas: {
        erika: { roles: ['capture', 'read', 'export'], units: [UNIT], name: 'Erika Mustermann', ttlSeconds: CASEWORKER_TOKEN_SECONDS },
        rita: { roles: ['read', 'export', 'review', 'audit'], units: [UNIT], name: 'Rita Prüferin' },
        mallory: { roles: ['review'], units: [UNIT], name: hostileName },
      },
    });
    const keys = await keysEnv();
    ingestKeys = (JSON.parse(keys.INGEST_KEYS!) as { keys: JWK[] }).keys;
    service = await startService({ ...keys, OIDC_ISSUER: idp.issuer, OIDC_AUDIENCE: AUDIENCE, WORKSPACE_CLIENT_ID: CLIENT, WORKSPACE_SCOPE: 'openid offline_access capture', OCR: 'on', NODE_EXTRA_CA_CERTS: tls.certFile });
    proxy = await recordingProxy(service.url);
    base = proxy.url;
    idp.addBrowserClient(CLIENT, `${base}/app/callback.html`);
  });
  afterAll(async () => {
    await proxy?.close();
    await service?.stop();
    await idp?.stop().catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Access, refresh and ID tokens as the provider handed them to the page. */
  function tokensOf(page: Page): { all: string[]; refresh: string[] } {
    const tokens = { all: [] as string[], refresh: [] as string[] };
    page.on('response', (res: Response) => {
      if (!res.url().startsWith(idp.issuer) || !res.url().includes('/token')) return;
      void res.json().then((body: { access_token?: string; refresh_token?: string; id_token?: string }) => {
        tokens.all.push(...[body.access_token, body.refresh_token, body.id_token].filter((x): x is string => !!x));
        if (body.refresh_token) tokens.refresh.push(body.refresh_token);
      }, () => undefined);
    });
    return tokens;
  }

  async function decrypt(compact: string): Promise<Buffer> {
    const header = JSON.parse(Buffer.from(compact.split('.')[0]!, 'base64url').toString()) as { kid: string; alg: string; enc: string };
    expect(header).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM' });
    return jwcryptoDecrypt(ingestKeys.find((k) => k.kid === header.kid)!, compact);
  }

  /** Polls the API until the document's text layer left `pending` (the OCR job's outcome decides, no clock). */
  async function textLayerSettled(id: string): Promise<string> {
    const token = await idp.token('erika');
    for (;;) {
      const res = await fetch(`${service.url}/v1/documents/${id}`, { headers: { authorization: `Bearer ${token}` } });
      const status = ((await res.json()) as { textLayer: { status: string } }).textLayer.status;
      if (status !== 'pending') return status;
      await sleep(200);
    }
  }

  it('a caseworker signs in, captures by drag and drop and by picking, finds and opens; a reviewer approves and rejects; nothing stays in the profile', async () => {
    const caseNumber = `AZ ${newMarker()}`;
    const scanTitle = `Anhörung ${newMarker()}`;
    const photoTitle = `Foto ${newMarker()}`;
    const photoMarker = newMarker();
    const scan = await pdfWithText('Seite', 3);
    // A photographed letter: its words reach the search only through the OCR job's text layer.
    const photo = await sharp(germanPage(1240)).jpeg({ quality: 90 }).withExif({ IFD0: { ImageDescription: photoMarker } }).toBuffer();
    const browser = await launchChromium({ width: 1280, height: 800 }, { args: trustProvider });
    const page = await browser.context.newPage();
    const seen = recordResponses(page, base);
    const tokens = tokensOf(page);
    let ids: string[] = [];
    try {
      await page.goto(`${base}/app/`);
      expect(await page.textContent('h1')).toBe('Anmelden');
      await expectAccessible(page, 'sign-in');
      await signIn(browser.context, page, 'erika');
      expect(await page.textContent('#user')).toBe('Angemeldet: Erika Mustermann');

      // A 3-page scan by drag and drop.
      await page.click('a[href="#/capture"]');
      await page.fill('#capture-title', scanTitle);
      await page.fill('#capture-case', caseNumber);
      await page.fill('#capture-office', 'Bürgeramt Nord');
      await dropFiles(page, '#drop-zone', [{ name: 'scan.pdf', type: 'application/pdf', bytes: scan }]);
      await expectAccessible(page, 'capture');
      await page.click('#capture-send');
      await page.locator('#captured-link').waitFor();
      await expectAccessible(page, 'capture result');
      expect(await page.textContent('h1')).toBe('Erfasst: 3 Seiten.');
      ids.push((await page.getAttribute('#captured-link', 'href'))!.split('/').pop()!);

      // A photo picked with the file chooser.
      await page.click('a[href="#/capture"]');
      await page.fill('#capture-title', photoTitle);
      await page.fill('#capture-case', caseNumber);
      await page.setInputFiles('#capture-files', { name: 'foto.jpg', mimeType: 'image/jpeg', buffer: photo });
      await page.click('#capture-send');
      await page.locator('#captured-link').waitFor();
      expect(await page.textContent('h1')).toBe('Erfasst: 1 Seite.');
      ids.push((await page.getAttribute('#captured-link', 'href'))!.split('/').pop()!);

      // What the browser sent: every part a JWE that Python jwcrypto decrypts to exactly the input; one key per capture.
      const captures = proxy.bodies('/v1/documents');
      expect(captures).toHaveLength(2);
      const sent = [
        { request: captures[0]!, title: scanTitle, file: scan, type: 'application/pdf' },
        { request: captures[1]!, title: photoTitle, file: photo, type: 'image/jpeg' },
      ];
      for (const { request, title, file, type } of sent) {
        expect(request.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
        expect(request.headers['authorization']).toMatch(/^Bearer ey/);
        expect(request.headers['cookie']).toBeUndefined();
        const parts = multipartParts(String(request.headers['content-type']), request.body);
        expect(parts.map((p) => [p.name, p.type])).toEqual([['metadata', 'application/jose'], ['file', 'application/jose']]);
        const metadata = JSON.parse((await decrypt(parts[0]!.body.toString('latin1'))).toString('utf8'));
        expect(metadata).toMatchObject({ title, caseNumber, classification: 'VS-NfD', source: 'scanner' });
        expect(JSON.parse(Buffer.from(parts[1]!.body.toString('latin1').split('.')[0]!, 'base64url').toString()).cty).toBe(type);
        expect(sha256(await decrypt(parts[1]!.body.toString('latin1')))).toBe(sha256(file));
      }
      expect(captures[0]!.headers['idempotency-key']).not.toBe(captures[1]!.headers['idempotency-key']);

      // The token renews silently while the tab is open; the session goes on with the new one.
      await page.waitForFunction(() => Number(document.body.dataset.renewals ?? 0) >= 1, undefined, { timeout: 120_000 });

      // Found by a word that is only on its page (not in any title), once the text layer is in.
      expect(await textLayerSettled(ids[1]!)).toBe('ready');
      await page.click('a[href="#/documents"]');
      await page.fill('#search-words', 'Ordnungsamt');
      await page.click('#search button[type="submit"]');
      await expect.poll(() => page.locator('#results .doc-title').allTextContents()).toEqual([photoTitle]);

      // Found by a word of its title, only that one; a capture day range after today finds nothing.
      await page.fill('#search-words', photoTitle.split(' ')[1]!);
      await page.click('#search button[type="submit"]');
      await expect.poll(() => page.locator('#results .doc-title').allTextContents()).toEqual([photoTitle]);
      const tomorrow = await page.evaluate(() => { const d = new Date(); d.setDate(d.getDate() + 1); return d.toLocaleDateString('sv'); });
      await page.fill('#filter-from', tomorrow);
      await page.click('#search button[type="submit"]');
      await expect.poll(() => page.locator('#results p').allTextContents()).toEqual(['Keine Dokumente gefunden.']);
      await page.fill('#search-words', '');
      await page.fill('#filter-from', '');

      // Found by case number, both of them, newest first, each row leading to its document.
      await page.fill('#search-case', caseNumber);
      await page.click('#search button[type="submit"]');
      await expect.poll(() => page.locator('#results tbody tr').count()).toBe(2);
      expect(await page.locator('#results .doc-title').allTextContents()).toEqual([photoTitle, scanTitle]);
      // Each row shows its first page as the service's watermarked thumbnail, 128 px for 64 CSS px.
      await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('#results img.thumbnail')].every((i) => !i.hidden && i.complete && i.naturalWidth > 0), undefined, { timeout: 120_000 });
      expect(await page.locator('#results img.thumbnail').evaluateAll((imgs) => imgs.map((i) => (i as HTMLImageElement).naturalWidth))).toEqual([128, 128]);
      const thumbnails = seen.filter((s) => s.url.includes('/thumbnail?'));
      expect(thumbnails.length).toBeGreaterThanOrEqual(2);
      // Thumbnails of lists replaced by the next search may still be rendering: one asked for meanwhile can be told to wait (429, retried).
      for (const s of thumbnails) expect(s.headers['content-type'] === 'image/webp' || (/^application\/problem\+json/.test(s.headers['content-type'] ?? '') && s.headers['retry-after'] === '1'), JSON.stringify(s.headers)).toBe(true);
      await expectAccessible(page, 'my documents');
      await page.click(`a[href="#/documents/${ids[0]}"]`);
      await page.locator('#doc-title').waitFor();
      expect(await page.textContent('#doc-title')).toBe(scanTitle);
      expect(await page.textContent('.facts .case')).toBe(caseNumber);
      expect(await page.textContent('.facts .review-status')).toBe('offen');
      await expectAccessible(page, 'document');
      // No review or audit for a caseworker.
      expect(await page.locator('#approve').count()).toBe(0);
      expect(await page.locator('#audit').count()).toBe(0);

      // "Ansehen": the viewer in a tab of its own, with the ticket, not the token.
      const viewerOpened = browser.context.waitForEvent('page');
      await page.click('#open-viewer');
      const viewer = await viewerOpened;
      await viewer.locator('.page[data-page="1"][data-state="loaded"] img').waitFor();
      expect(await viewer.textContent('#page-count')).toBe('von 3');
      // No role review: no review bar in the viewer.
      expect(await viewer.locator('#review').isHidden()).toBe(true);
      await viewer.close();

      // English on request.
      await page.click('#lang');
      await page.locator('#open-viewer', { hasText: 'View' }).waitFor();
      expect(await page.getAttribute('html', 'lang')).toBe('en');
      await page.click('#lang');
      await page.locator('#open-viewer', { hasText: 'Ansehen' }).waitFor();

      // Nothing kept by the page itself.
      expect(await page.evaluate(() => localStorage.length + sessionStorage.length)).toBe(0);
      expect(await page.evaluate(async () => (await indexedDB.databases()).length)).toBe(0);
      expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).length)).toBe(0);
      expect(await page.evaluate(() => document.cookie)).toBe('');

      // Signing out ends the provider's session too: its own confirmation page, then back to the callback, which closes.
      const signOutOpened = browser.context.waitForEvent('page');
      await page.click('#sign-out');
      const signOut = await signOutOpened;
      await page.locator('#sign-in').waitFor();
      expect(await page.textContent('#login-message')).toBe('Sie sind abgemeldet. Auf diesem Gerät bleibt nichts gespeichert.');
      expect(await page.locator('#nav').isHidden()).toBe(true);
      const signOutClosed = signOut.waitForEvent('close');
      await signOut.click('button[name="logout"][value="yes"]');
      await signOutClosed;
      // Signing out revoked the refresh token at the provider.
      expect(await idp.refresh(CLIENT, tokens.refresh.at(-1)!)).toBe(400);
      // The next "Anmelden" needs the provider's login again (its session is gone), not a silent sign-in or only its consent.
      const againOpened = browser.context.waitForEvent('page');
      await page.click('#sign-in');
      const again = await againOpened;
      const loginOrConsent = again.locator('input[name="login"], button[type="submit"]:has-text("Continue")');
      await loginOrConsent.first().waitFor();
      expect(await again.locator('input[name="login"]').count()).toBe(1);
      await again.close();
    } finally {
      await browser.close();
    }

    try {
      // Every response of the service carried the strict headers.
      expect(seen.length).toBeGreaterThan(10);
      expectStrictHeaders(seen);
      // The profile holds no metadata value, no file content and no token.
      expect(tokens.refresh.length).toBeGreaterThanOrEqual(2);
      const needles = [scanTitle, photoTitle, caseNumber, photoMarker, scan.subarray(scan.length >> 1, (scan.length >> 1) + 48).toString('latin1'), ...tokens.all.map((tk) => tk.slice(-40))];
      for (const needle of needles) expect((await filesContaining(browser.profileDir, needle)).join('\n'), `found in the profile: ${needle.slice(0, 20)}`).toBe('');
    } finally {
      await browser.remove();
    }

    // The reviewer, on a device of her own: the queue, a refused rejection without a reason, then both decisions.
    const reviewer = await launchChromium({ width: 1280, height: 800 }, { args: trustProvider });
    try {
      const page2 = await reviewer.context.newPage();
      await page2.goto(`${base}/app/`);
      await signIn(reviewer.context, page2, 'rita');
      await page2.click('a[href="#/review"]');
      for (const id of ids) await page2.locator(`#results tr[data-id="${id}"]`).waitFor();
      await expectAccessible(page2, 'review queue');
      await page2.click(`a[href="#/documents/${ids[1]}"]`);
      await page2.click('#reject');
      expect(await page2.textContent('#review-result')).toBe('Bitte geben Sie eine Begründung für die Ablehnung an.');
      await page2.fill('#review-note', 'Foto unscharf, bitte neu aufnehmen');
      await page2.click('#reject');
      await page2.locator('#review-result', { hasText: 'Gespeichert: abgelehnt.' }).waitFor();
      expect(await page2.textContent('.facts .review-status')).toMatch(/^abgelehnt von Rita Prüferin am /);
      expect(await page2.textContent('.facts .review-note')).toBe('Foto unscharf, bitte neu aufnehmen');
      // The other one approved from inside the viewer: it asks the workspace tab, which holds the token.
      await page2.click('a[href="#/documents"]');
      await page2.click(`a[href="#/documents/${ids[0]}"]`);
      const viewerOpened = reviewer.context.waitForEvent('page');
      await page2.click('#open-viewer');
      const viewer = await viewerOpened;
      await viewer.locator('#review:not([hidden])').waitFor();
      await expectAccessible(viewer, 'viewer with the review bar');
      await viewer.click('#review-reject');
      expect(await viewer.textContent('#review-result')).toBe('Bitte geben Sie eine Begründung für die Ablehnung an.');
      await viewer.click('#review-approve');
      await viewer.locator('#review-result', { hasText: 'Gespeichert: freigegeben.' }).waitFor();
      await viewer.close();
      await page2.click('a[href="#/documents"]');
      await page2.click(`a[href="#/documents/${ids[0]}"]`);
      await page2.locator('.facts .review-status', { hasText: /^freigegeben von Rita Prüferin am / }).waitFor();
      await expectAccessible(page2, 'document with review and audit trail');
      // The audit trail shows each step: captured, viewed by Erika, reviewed by Rita.
      const types = await page2.locator('#audit tbody tr').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.type));
      expect(types).toEqual(expect.arrayContaining(['captured', 'view_ticket_issued', 'page_viewed', 'reviewed']));
      expect(await page2.locator('#audit tr[data-type="reviewed"] td').last().textContent()).toBe('Rita Prüferin');
      // The queue no longer holds them.
      await page2.click('a[href="#/review"]');
      await page2.locator('#results').filter({ has: page2.locator('p, table') }).waitFor();
      for (const id of ids) expect(await page2.locator(`#results tr[data-id="${id}"]`).count()).toBe(0);
    } finally {
      await reviewer.close();
      await reviewer.remove();
    }
  }, 300_000);

  it('shows hostile metadata as text only, each value isolated for bidi, in the list, on the document page and in the viewer', async () => {
    const token = await idp.token('erika');
    const capture = (metadata: object) => {
      const form = new FormData();
      form.append('metadata', JSON.stringify(metadata));
      form.append('file', new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }), 'a.jpg');
      return fetch(`${service.url}/v1/documents`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'accept-language': 'de' }, body: form });
    };
    const photo = await jpegWithMarker(newMarker());
    const bidi = await capture({ title: `Antrag \u202Egnuröhna`, caseNumber: hostileCase });
    expect(bidi.status).toBe(400);
    expect(((await bidi.json()) as { detail: string }).detail).toContain('Schreibrichtung');
    const created = await capture({ title: hostileTitle, caseNumber: hostileCase });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    // A reviewer whose name carries an override and markup approves it (through the API).
    const reviewed = await fetch(`${service.url}/v1/documents/${id}/review`, { method: 'POST', headers: { authorization: `Bearer ${await idp.token('mallory')}`, 'content-type': 'application/json' }, body: JSON.stringify({ decision: 'approved' }) });
    expect(reviewed.status).toBe(200);
    const browser = await launchChromium({ width: 390, height: 844 }, { args: trustProvider });
    const isolated = (page: Page, selector: string) => page.locator(selector).evaluate((el) => getComputedStyle(el).unicodeBidi);
    try {
      const page = await browser.context.newPage();
      await page.goto(`${base}/app/`);
      await signIn(browser.context, page, 'rita');
      await page.fill('#search-case', hostileCase);
      await page.click('#search button[type="submit"]');
      await page.locator(`#results tr[data-id="${id}"]`).waitFor();
      expect(await page.textContent(`#results tr[data-id="${id}"] .doc-title`)).toBe(hostileTitle);
      expect(await page.textContent(`#results tr[data-id="${id}"] .case`)).toBe(hostileCase);
      for (const cell of ['.doc-title', '.case']) expect(await isolated(page, `#results tr[data-id="${id}"] ${cell}`)).toBe('isolate');
      expect(await page.locator('#results img:not(.thumbnail), #results script, #results b').count()).toBe(0);
      await page.click(`a[href="#/documents/${id}"]`);
      await page.locator('#doc-title').waitFor();
      expect(await page.textContent('#doc-title')).toBe(hostileTitle);
      expect(await page.textContent('.facts .case')).toBe(hostileCase);
      // The override in the name stays inside it: "am <Datum>" after it reads as written.
      expect(await page.textContent('.facts .review-status bdi')).toBe(hostileName);
      expect((await page.textContent('.facts .review-status'))!.startsWith(`freigegeben von ${hostileName} am `)).toBe(true);
      for (const value of ['#doc-title', '.facts .case', '.facts .review-status bdi']) expect(await isolated(page, value), value).toBe('isolate');
      await expectAccessible(page, 'document with hostile values (390×844)');
      expect(await page.locator('main img, main script, main b').count()).toBe(0);
      expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
      // A long title wraps inside the phone's width instead of widening the page.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

      // The viewer shows them as text too, isolated, and keeps them out of the window title.
      const viewerOpened = browser.context.waitForEvent('page');
      await page.click('#open-viewer');
      const viewer = await viewerOpened;
      await viewer.locator('#doc-info:not([hidden])').waitFor();
      expect(await viewer.textContent('#doc-title')).toBe(hostileTitle);
      expect(await viewer.textContent('#doc-case')).toBe(hostileCase);
      for (const value of ['#doc-title', '#doc-case']) expect(await isolated(viewer, value), value).toBe('isolate');
      expect(await viewer.locator('#doc-info *:not(span)').count()).toBe(0);
      expect(await viewer.title()).not.toContain('Ü');
      expect(await viewer.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
      expect(await viewer.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await expectAccessible(viewer, 'viewer with hostile values (390×844)');
    } finally {
      await browser.close();
      await browser.remove();
    }
  });
});

describe('the workspace in development (the built-in issuer, no OpenID provider)', () => {
  let service: ServiceProcess;
  beforeAll(async () => {
    service = await startService({});
  });
  afterAll(() => service?.stop());

  it('offers a login page to pick user, roles and units; the screens follow the roles', async () => {
    const config = await fetch(`${service.url}/app/config.json`);
    expect(await config.json()).toEqual({ devLogin: true, claims: { roles: 'roles', units: 'units', name: 'name' } });
    const page404 = await fetch(`${service.url}/app/nothing.js`);
    expect(page404.status).toBe(404);
    expect(page404.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const browser = await launchChromium({ width: 390, height: 844 });
    try {
      const page = await browser.context.newPage();
      const answer = await page.goto(`${service.url}/app/`);
      expect(answer!.headers()['content-security-policy']).toContain("connect-src 'self';");
      expect(await page.textContent('h1')).toBe('Entwicklungsanmeldung');
      await expectAccessible(page, 'development sign-in (390×844)');
      await page.fill('#dev-sub', 'max');
      await page.fill('#dev-name', 'Max Leser');
      await page.uncheck('input[value="capture"]');
      await page.fill('#dev-units', 'BA-Test');
      await page.click('#dev-login button[type="submit"]');
      await page.locator('#sign-out').waitFor();
      expect(await page.textContent('#user')).toBe('Angemeldet: Max Leser');
      // Without the role capture there is no capture screen; review is offered.
      expect(await page.locator('#nav a').allTextContents()).toEqual(['Meine Dokumente', 'Prüfung']);
      await page.locator('#results p', { hasText: 'Keine Dokumente gefunden.' }).waitFor();
      // The built-in issuer keeps no session of its own: signing out forgets the token, and the next sign-in is the form again.
      const windows: unknown[] = [];
      browser.context.on('page', (p) => windows.push(p));
      await page.click('#sign-out');
      await page.locator('#dev-login').waitFor();
      expect(windows).toEqual([]);
      expect(await page.textContent('#login-message')).toBe('Sie sind abgemeldet. Auf diesem Gerät bleibt nichts gespeichert.');
    } finally {
      await browser.close();
      await browser.remove();
    }
  });
});
