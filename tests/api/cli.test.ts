import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { filesContaining, jpegWithMarker, newMarker, pdfWithText } from '../support/capture-fixtures.ts';
import { layout } from '../../src/storage/layout.ts';

const CLI = fileURLToPath(new URL('../../bin/vs-capture.js', import.meta.url));
const UNIT = 'BA-Nord';

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI as a user runs it, in its own process, against the listening server. */
function runCli(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, VS_CAPTURE_TOKEN: '' } }, (err, stdout, stderr) => {
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

  beforeAll(async () => {
    t = await startTestApp({ UPLOAD_CHUNK_BYTES: String(64 * 1024) });
    server = http.createServer((req, res) => {
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
    expect(run.stderr).toMatch(/\[#{30}\] 100% .* scan3\.jpg/);
    expect(captureKeys).toHaveLength(2);
    expect(new Set(captureKeys).size).toBe(1);
    // The uploads were consumed by the capture.
    expect(await t.deps.store.list({ prefix: layout.uploadsPrefix })).toEqual([]);
    expect(await filesContaining(t.dataDir, marker)).toEqual([]);
    expect(t.logs.join('\n')).not.toContain(marker);
  });

  it('sends small files inline in one request, without a progress bar, and prints a readable summary', async () => {
    const scan = await input('small.jpg', await jpegWithMarker(newMarker(), 320, 240));
    const run = await runCli(['upload', scan, '--title', 'Klein', '--server', base, '--dev-user', 'u-cli', '--units', UNIT, '--key', 'RSA-OAEP-256']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^document {2}[0-9A-Z]{26}\npages {5}1\napi {7}http:\/\/127\.0\.0\.1:\d+\/v1\/documents\/[0-9A-Z]{26}\nviewer {4}\S/);
    expect(run.stderr).not.toContain('%');
  });

  it('exits 1 with the server\'s reason when the capture is refused', async () => {
    const scan = await input('refused.jpg', await jpegWithMarker(newMarker(), 64, 64));
    const run = await runCli(['upload', scan, '--title', 'x', '--classification', 'GEHEIM', '--server', base, '--dev-user', 'u-cli', '--units', UNIT]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/vs-capture: 4\d\d .*GEHEIM/);
  });

  it('exits 2 with usage on a bad command line', async () => {
    const run = await runCli(['upload', '--server', base]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Usage: vs-capture upload');
  });
});
