/** Driving the workspace in Chromium: sign-in through the provider's window, dropping files, reading sent bodies. */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Page } from 'playwright-core';

/** Clicks "Anmelden", logs in as `login` on oidc-provider's own pages (login, then consent) in the window that opens. */
export async function signIn(context: BrowserContext, page: Page, login: string): Promise<void> {
  const popupOpened = context.waitForEvent('page');
  await page.click('#sign-in');
  const popup = await popupOpened;
  await popup.waitForLoadState();
  await popup.fill('input[name="login"]', login);
  await popup.fill('input[name="password"]', 'any');
  await popup.click('button[type="submit"]');
  // The consent page, unless the provider remembers an earlier grant; the window closes itself at the end.
  const consent = popup.locator('button[type="submit"]', { hasText: /continue/i });
  await Promise.race([consent.click().catch(() => undefined), popup.waitForEvent('close')]);
  await page.locator('#sign-out').waitFor();
}

/** Drops files onto `selector` as a person dragging them from the desktop would (a DataTransfer with File objects). */
export async function dropFiles(page: Page, selector: string, files: Array<{ name: string; type: string; bytes: Buffer }>): Promise<void> {
  const transfer = await page.evaluateHandle((list) => {
    const dt = new DataTransfer();
    for (const f of list) dt.items.add(new File([Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0))], f.name, { type: f.type }));
    return dt;
  }, files.map((f) => ({ name: f.name, type: f.type, base64: f.bytes.toString('base64') })));
  await page.dispatchEvent(selector, 'dragover', { dataTransfer: transfer });
  await page.dispatchEvent(selector, 'drop', { dataTransfer: transfer });
}

/** The parts of a multipart/form-data body: name, content type, body. */
export function multipartParts(contentType: string, body: Buffer): Array<{ name: string; type: string | undefined; body: Buffer }> {
  const boundary = /boundary=([^;]+)/.exec(contentType)?.[1];
  if (!boundary) throw new Error('not a multipart request');
  const text = body.toString('latin1');
  return text
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((chunk) => {
      const [head, ...rest] = chunk.replace(/^\r\n/, '').split('\r\n\r\n');
      const content = rest.join('\r\n\r\n').replace(/\r\n$/, '');
      return {
        name: /name="([^"]+)"/.exec(head!)?.[1] ?? '',
        type: /content-type:\s*([^\r\n]+)/i.exec(head!)?.[1],
        body: Buffer.from(content, 'latin1'),
      };
    });
}

export interface RecordingProxy {
  url: string;
  /** Bodies of the POST requests to `path`, exactly as they arrived, with their headers. */
  bodies(path: string): Array<{ headers: Record<string, string | string[] | undefined>; body: Buffer }>;
  close(): Promise<void>;
}

/**
 * A pass-through HTTP proxy in front of the service that keeps POST bodies: Chromium does not show a
 * request's body to the driver when it holds files, so the test reads the bytes on the wire instead.
 */
export async function recordingProxy(target: string): Promise<RecordingProxy> {
  const kept: Array<{ path: string; headers: Record<string, string | string[] | undefined>; body: Buffer }> = [];
  const { hostname, port } = new URL(target);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.method === 'POST') kept.push({ path: req.url ?? '', headers: req.headers, body });
      const upstream = http.request({ host: hostname, port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies: (path) => kept.filter((k) => k.path === path),
    async close() {
      server.closeAllConnections();
      server.close();
    },
  };
}
