import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../testkit/test-app.ts';
import { filesContaining, jpegWithMarker, newMarker, pdfWithText } from '../../testkit/capture-fixtures.ts';
import { layout } from '../../src/storage/layout.ts';
import { size } from '../../client/progress.ts';

const CLI = fileURLToPath(new URL('../../bin/vs-capture.js', import.meta.url));
const UNIT = 'BA-Nord';

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI as a user runs it, in its own process, against the listening server. */
function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    // English unless a test asks for another locale.
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, LC_ALL: '', LC_MESSAGES: '', LANG: 'C.UTF-8', VS_CAPTURE_TOKEN: '', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('vs-capture CLI against a running server', () => {
  let t: TestApp;
  let server: http.Server;
  let base: string;
  let inputDir: string;
  /** Idempotency-Key of every POST /v1/documents that reached the server. */
  const captureKeys: string[] = [];
  /** How many of the next capture requests are answered 503 before the app sees them. */
  let refuseNext = 0;
  /** Every request that reached the server, as "METHOD /path". */
  const requests: string[] = [];

  beforeAll(async () => {
    t = await startTestApp({ UPLOAD_CHUNK_BYTES: String(64 * 1024) });
    server = http.createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      if (req.method === 'POST' && req.url === '/v1/documents') {
        captureKeys.push(String(req.headers['idempotency-key']));
        if (refuseNext > 0) {
          refuseNext--;
          res.writeHead(503, { 'Retry-After': '1', 'Content-Type': 'application/problem+json' });
          return res.end(JSON.stringify({ status: 503, code: 'busy', detail: 'busy (test)' }));
        }
      }
      t.app(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // Synthetic noise images: no document content, but they stand in for scans the CLI reads from disk.
    inputDir = await mkdtemp(path.join(tmpdir(), 'vsc-cli-input-'));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(inputDir, { recursive: true, force: true });
    await t.close();
  });

  async function input(name: string, bytes: Buffer): Promise<string> {
    const file = path.join(inputDir, name);
    await writeFile(file, bytes);
    return file;
  }

  it('uploads a small and a large file resumably, retries a 503 with one Idempotency-Key and prints where the document is', async () => {
    const marker = newMarker();
    const small = await input('scan1.jpg', await jpegWithMarker(marker, 320, 240));
    const large = await input('scan2.pdf', await pdfWithText(marker, 2));
    const large2 = await input('scan3.jpg', await jpegWithMarker(marker, 1200, 900));
    refuseNext = 1;
    captureKeys.length = 0;

    const run = await runCli([
      'upload', small, large, large2,
      '--title', 'Anhörung', '--case', 'AZ 7-1/26',
      '--server', base, '--dev-user', 'u-cli', '--roles', 'capture,read', '--units', UNIT,
      '--resumable-above', String(200_000), '--json',
    ]);

    expect(run.stderr).toContain('retrying in 1.0 s after 503');
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ pageCount: 4, resumable: true, documentUrl: `${base}/v1/documents/${result.id}` });
    // A viewer link needs the viewer wired into the app (AppDeps.views); without it the CLI prints none.
    if ((t.deps as { views?: unknown }).views) expect(result.viewerUrl).toMatch(new RegExp(`/viewer/#ticket=.+&doc=${result.id}$`));
    else expect(result.viewerUrl).toBeUndefined();
    // The bar shows the file's own size, not the (larger) ciphertext's.
    expect(run.stderr).toContain(`100%  ${size((await stat(large2)).size, (await stat(large2)).size)}  scan3.jpg`);
    expect(captureKeys).toHaveLength(2);
    expect(new Set(captureKeys).size).toBe(1);
    // The uploads were consumed by the capture.
    expect(await t.deps.store.list({ prefix: layout.uploadsPrefix })).toEqual([]);
    expect(await filesContaining(t.dataDir, marker)).toEqual([]);
    expect(t.logs.join('\n')).not.toContain(marker);
  });

  it('sends small files inline in one request, with a progress bar of the file size, and prints a readable summary', async () => {
    const scan = await input('small.jpg', await jpegWithMarker(newMarker(), 320, 240));
    const run = await runCli(['upload', scan, '--title', 'Klein', '--server', base, '--dev-user', 'u-cli', '--units', UNIT, '--key', 'RSA-OAEP-256']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^document {2}[0-9A-Z]{26}\npages {5}1\napi {7}http:\/\/127\.0\.0\.1:\d+\/v1\/documents\/[0-9A-Z]{26}\nviewer {4}\S/);
    const bytes = (await stat(scan)).size;
    expect(run.stderr).toContain(`[${'#'.repeat(30)}] 100%  ${size(bytes, bytes)}  small.jpg`);
  });

  it('exits 1 naming the file when the server refuses it', async () => {
    const jpeg = await jpegWithMarker(newMarker(), 640, 480);
    // A JPEG start that passes the local type check, then nothing the decoder can use.
    const scan = await input('broken.jpg', Buffer.concat([jpeg.subarray(0, 4096), Buffer.alloc(4096)]));
    const run = await runCli(['upload', scan, '--title', 'x', '--server', base, '--dev-user', 'u-cli', '--units', UNIT]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^vs-capture: 4\\d\\d \\w+: refused: ${scan.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `, 'm'));
  });

  it('names the address and the cause when the server cannot be reached', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const scan = await input('net.jpg', await jpegWithMarker(newMarker(), 64, 64));
    const args = (server: string) => ['upload', scan, '--title', 'x', '--server', server, '--dev-user', 'u-cli', '--units', UNIT];
    const refused = await runCli(args(`http://127.0.0.1:${port}`));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`vs-capture: cannot reach http://127.0.0.1:${port}: connection refused (ECONNREFUSED); is the service running, is --server right?\n`);
    const unknown = await runCli(args('http://vs-capture.invalid'));
    expect(unknown.stderr).toMatch(/^vs-capture: cannot reach http:\/\/vs-capture\.invalid: host not found \((ENOTFOUND|EAI_AGAIN)\); check the host name in --server\n$/);
    // TLS spoken to a plain HTTP server.
    const tls = await runCli(args(base.replace('http:', 'https:')));
    expect(tls.stderr).toMatch(new RegExp(`^vs-capture: ${base.replace('http:', 'https:').replace(/[.]/g, '\\.')}: TLS failed \\((ERR_SSL_\\w+|EPROTO)`));
    const german = await runCli(args(`http://127.0.0.1:${port}`), { LANG: 'de_DE.UTF-8' });
    expect(german.stderr).toMatch(/ist nicht erreichbar: Verbindung abgelehnt \(ECONNREFUSED\)/);
  });

  it('takes a server URL ending in /v1, captures with --enhance and --sanitize, and gives the dev user a real name', async () => {
    const scan = await input('options.jpg', await jpegWithMarker(newMarker(), 320, 240));
    const run = await runCli(['upload', scan, '--title', 'Optionen', '--server', `${base}/v1/`, '--dev-user', 'u-opt', '--roles', 'capture,read', '--units', UNIT, '--enhance', '--sanitize', 'rasterize', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const { id } = JSON.parse(run.stdout);
    const reader = await t.token({ sub: 'u-read', roles: ['read'], units: [UNIT] });
    const doc = await fetch(`${base}/v1/documents/${id}`, { headers: { Authorization: `Bearer ${reader}` } }).then((r) => r.json());
    expect(doc.transferNote.settings).toEqual({ enhance: 'document', sanitize: 'rasterize' });
    expect(doc.transferNote.capturedBy).toEqual({ sub: 'u-opt', name: 'Entwicklungsnutzer' });
    const named = await runCli(['upload', scan, '--title', 'Name', '--server', base, '--dev-user', 'u-opt', '--dev-name', 'Erika Mustermann', '--units', UNIT, '--json']);
    const second = await fetch(`${base}/v1/documents/${JSON.parse(named.stdout).id}`, { headers: { Authorization: `Bearer ${reader}` } }).then((r) => r.json());
    expect(second.transferNote.capturedBy.name).toBe('Erika Mustermann');
  });

  it('checks files, their type and size, and the classification before anything is encrypted or sent', async () => {
    const jpeg = await input('ok.jpg', await jpegWithMarker(newMarker(), 64, 64));
    const text = await input('notes.txt', Buffer.from('not a scan\n'));
    const cases: Array<[string[], RegExp]> = [
      [[path.join(inputDir, 'missing.jpg')], /^vs-capture: file not found: .*missing\.jpg\n$/],
      [[inputDir], /^vs-capture: .* is a directory; name the files in it, e\.g\. .*\*\.jpg\n$/],
      [[jpeg, text], /^vs-capture: .*notes\.txt is of no recognised type; accepted are PDF, JPEG/],
      [[jpeg, '--max-file-bytes', '100'], /^vs-capture: .*ok\.jpg has \d+ bytes; the service accepts at most 100/],
      [[jpeg, '--classification', 'GEHEIM'], /^vs-capture: the classification 'GEHEIM' must not be processed on a VS-NfD system; nothing was sent\n/],
      [[jpeg, '--classification', 'vs-nfd'], /^vs-capture: --classification 'vs-nfd': write 'VS-NfD'\n/],
      [[jpeg, '--classification', 'VS-NUR FÜR DEN DIENSTGEBRAUCH'], /write 'VS-NfD'/],
    ];
    for (const [extra, expected] of cases) {
      requests.length = 0;
      const run = await runCli(['upload', ...extra, '--title', 'x', '--server', base, '--dev-user', 'u-cli', '--units', UNIT]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(expected);
      expect(run.stderr.split('\n').filter(Boolean).length).toBeLessThanOrEqual(2);
      expect(requests).toEqual([]);
    }
  });

  it('answers a usage error with the one relevant line and a hint, and prints its version', async () => {
    const noFile = await runCli(['upload', '--server', base]);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toBe('vs-capture: name at least one file to upload\nAll options: vs-capture --help\n');
    const unknown = await runCli(['upload', 'x.jpg', '--titel', 'x']);
    expect(unknown.stderr).toBe("vs-capture: unknown option '--titel'\nAll options: vs-capture --help\n");
    const german = await runCli(['upload', 'x.jpg'], { LANG: 'de_DE.UTF-8' });
    expect(german.stderr).toBe("vs-capture: --title fehlt (Pflicht), z. B. --title 'Anhörungsbogen'\nAlle Optionen: vs-capture --help\n");
    expect((await runCli(['--help'], { LANG: 'de_DE.UTF-8' })).stdout).toMatch(/^Aufruf: vs-capture upload DATEI/);
    expect((await runCli(['--help'])).stdout).toMatch(/^Usage: vs-capture upload FILE/);
    const version = await runCli(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: `vs-capture ${JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')).version}\n` });
  });
});
