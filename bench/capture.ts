/**
 * End-to-end capture: a 12-megapixel camera JPEG (EXIF orientation 6, GPS), JWE-encrypted with
 * ECDH-ES+A256KW on P-256, POSTed to a listening service on the filesystem store and on S3 (Ceph RGW).
 * Processing time of each request comes from the service's own vsc_processing_duration_seconds
 * histogram, so the share outside processing (HTTP + decryption + storage) is of the same requests.
 * Run alone: npx tsx bench/capture.ts (S3_ENDPOINT/S3_ACCESS_KEY/S3_SECRET_KEY, or a Ceph RGW is started).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { buffer, text } from 'node:stream/consumers';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { JWK } from 'jose';
import { cameraJpeg } from '../tests/fixtures/images.ts';
import { cameraPhoto } from './processing.ts';
import { startCephRgw } from '../tests/support/ceph-rgw.ts';
import { joseEncrypt } from '../tests/support/jwe-fixtures.ts';
import { startTestApp } from '../tests/support/test-app.ts';
import { median, type BenchComparison, type BenchRow, type BenchSection } from './report.ts';

const RUNS = 15;
const WARMUP = 2;
const TARGET = 0.25;

interface Backend {
  label: string;
  env: Record<string, string>;
}

interface Photo {
  label: string;
  bytes: Buffer;
}

interface Timings {
  totalMs: number[];
  processingMs: number[];
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

/** The processing histogram's running sum, in ms. */
async function processingSumMs(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const match = /^vsc_processing_duration_seconds_sum (\S+)$/m.exec(text);
  if (!match) throw new Error('bench/capture.ts: /metrics has no vsc_processing_duration_seconds_sum');
  return Number(match[1]) * 1000;
}

async function p256Key(base: string): Promise<JWK> {
  const { keys } = (await (await fetch(`${base}/v1/keys`)).json()) as { keys: JWK[] };
  const key = keys.find((k) => k.alg === 'ECDH-ES+A256KW' && k.crv === 'P-256');
  if (!key) throw new Error('bench/capture.ts: the service publishes no P-256 ECDH-ES+A256KW key');
  return key;
}

/** One capture; the client's encryption happens before the clock starts (it is the phone's work, not the service's). */
async function captureOnce(base: string, token: string, key: JWK, photo: Buffer): Promise<{ totalMs: number; processingMs: number }> {
  const jwe = await joseEncrypt(key, photo, { cty: 'image/jpeg' });
  const form = new FormData();
  form.append('metadata', JSON.stringify({ title: 'Benchmark', source: 'camera', enhance: 'none' }));
  form.append('file', new Blob([jwe], { type: 'application/jose' }), 'photo.jwe');
  const before = await processingSumMs(base);
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/documents`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: form });
  await res.arrayBuffer();
  const totalMs = performance.now() - t0;
  if (res.status !== 201) throw new Error(`bench/capture.ts: capture answered ${res.status}`);
  return { totalMs, processingMs: (await processingSumMs(base)) - before };
}

/** Client mode (a child process, like a phone is another machine): captures the photo from stdin, prints the timings. */
async function runClient(base: string, token: string): Promise<void> {
  const photo = await buffer(process.stdin);
  const key = await p256Key(base);
  const timings: Timings = { totalMs: [], processingMs: [] };
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const { totalMs, processingMs } = await captureOnce(base, token, key, photo);
    if (i < WARMUP) continue;
    timings.totalMs.push(totalMs);
    timings.processingMs.push(processingMs);
  }
  process.stdout.write(JSON.stringify(timings));
}

/** The service in this process; the client in a child process, so its encryption and garbage never run on the service's event loop. */
export async function measure(backend: Backend, photo: Buffer): Promise<Timings> {
  const app = await startTestApp({ LOG_LEVEL: 'warn', ...backend.env });
  const server = app.app.listen(0, '127.0.0.1');
  try {
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const token = await app.token({ sub: 'bench', roles: ['capture'], units: ['BA'] });
    const child = execFile(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--client', base, token], { maxBuffer: 1 << 20 });
    const [out, err] = [text(child.stdout!), text(child.stderr!)];
    child.stdin!.end(photo);
    const [code] = (await once(child, 'close')) as [number];
    if (code !== 0) throw new Error(`bench/capture.ts: the client exited with ${code}: ${await err}`);
    return JSON.parse(await out) as Timings;
  } finally {
    server.close();
    await app.close();
  }
}

function kib(photo: Photo): string {
  return (photo.bytes.length / 1024).toFixed(0);
}

/** S3 from the environment (bench/run.ts hands its RGW over), or a Ceph RGW of our own. */
async function s3Backend(): Promise<{ backend: Backend; stop(): Promise<void> }> {
  const bucket = `vsc-bench-capture-${randomBytes(4).toString('hex')}`;
  const { S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY } = process.env;
  if (S3_ENDPOINT && S3_ACCESS_KEY && S3_SECRET_KEY) {
    const env = { STORAGE_BACKEND: 's3', S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET: bucket };
    return { backend: { label: `S3 (${S3_ENDPOINT})`, env }, stop: async () => undefined };
  }
  const rgw = await startCephRgw();
  const env = { STORAGE_BACKEND: 's3', S3_ENDPOINT: rgw.endpoint, S3_ACCESS_KEY: rgw.accessKey, S3_SECRET_KEY: rgw.secretKey, S3_BUCKET: bucket };
  return { backend: { label: 'S3 (Ceph RGW 16.2, memstore, loopback)', env }, stop: () => rgw.stop() };
}

function summarize(label: string, t: Timings): { rows: BenchRow[]; comparison: BenchComparison } {
  const outside = t.totalMs.map((total, i) => (total - t.processingMs[i]!) / total);
  const share = median(outside);
  const met = share <= TARGET;
  const rows: BenchRow[] = [
    {
      name: `capture ${label}: total (POST → 201)`,
      medianMs: Math.round(median(t.totalMs)),
      runs: t.totalMs.length,
      extra: { p95Ms: Math.round(percentile(t.totalMs, 0.95)) },
    },
    { name: `capture ${label}: processing (worker pool)`, medianMs: Math.round(median(t.processingMs)), runs: t.processingMs.length },
  ];
  const comparison: BenchComparison = {
    name: `capture ${label}: time outside processing (HTTP + crypto + storage) / total`,
    ratio: Math.round(share * 100) / 100,
    target: `<= ${TARGET}`,
    met,
    ...(met ? {} : { note: 'see the notes of this section for where the time outside processing goes' }),
  };
  return { rows, comparison };
}

export async function bench(): Promise<BenchSection> {
  const photos: Photo[] = [
    { label: 'camera-like', bytes: await cameraPhoto() },
    { label: 'flat fixture', bytes: await cameraJpeg({ width: 4000, height: 3000, orientation: 6, gps: true }) },
  ];
  const s3 = await s3Backend();
  try {
    const backends: Backend[] = [{ label: 'filesystem store', env: {} }, s3.backend];
    const rows: BenchRow[] = [];
    const comparisons: BenchComparison[] = [];
    for (const photo of photos) {
      for (const backend of backends) {
        const { rows: r, comparison } = summarize(`12 MP ${photo.label} JPEG, ${backend.label}`, await measure(backend, photo.bytes));
        rows.push(...r);
        comparisons.push(comparison);
      }
    }
    return {
      title: 'End-to-end capture: 12 MP encrypted camera JPEG through the listening service',
      command: 'npx tsx bench/capture.ts',
      rows,
      comparisons,
      notes: [
        `${RUNS} sequential captures per store after ${WARMUP} warm-up captures; fetch + FormData against app.listen(0) on loopback; one fresh JWE (ECDH-ES+A256KW, P-256, A256GCM) per capture, made before the clock starts.`,
        `Photos (4000×3000, EXIF orientation 6, GPS; enhance none): "camera-like" is bench/processing.ts's noise-textured photo at JPEG q92, ${kib(photos[0]!)} KiB, about what a phone writes; "flat fixture" is tests/fixtures/images.ts cameraJpeg (a drawn page, almost no texture), ${kib(photos[1]!)} KiB, where fixed per-request costs dominate.`,
        'Processing time is read from the service\'s vsc_processing_duration_seconds histogram (sum before and after each request): the same request\'s time in the worker pool, including the transfer to and from the worker thread. The share is the median over requests of (total - processing) / total.',
      ],
    };
  } finally {
    await s3.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [mode, base, token] = process.argv.slice(2);
  if (mode === '--client') await runClient(base!, token!);
  else console.log(JSON.stringify(await bench(), null, 2));
}
