/**
 * End-to-end capture: a 12-megapixel camera JPEG (EXIF orientation 6, GPS), JWE-encrypted with
 * ECDH-ES+A256KW on P-256, POSTed with an Idempotency-Key (as the reference client does) to a listening
 * service on the filesystem store and on S3 (Ceph RGW). The client runs in its own process, as a phone
 * is another machine. Processing time of each request comes from the service's own
 * vsc_processing_duration_seconds histogram, so the share outside processing is of the same requests.
 * Run alone: npx tsx bench/capture.ts (S3_ENDPOINT/S3_ACCESS_KEY/S3_SECRET_KEY, or a Ceph RGW is started).
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { buffer, text } from 'node:stream/consumers';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { JWK } from 'jose';
import type { Enhance } from '../src/processing/types.ts';
import { cameraJpeg } from '../testkit/fixtures/images.ts';
import { startCephRgw } from '../testkit/ceph-rgw.ts';
import { joseEncrypt } from '../testkit/jwe-fixtures.ts';
import { startTestApp, type TestApp } from '../testkit/test-app.ts';
import { cameraPhoto } from './processing.ts';
import { median, type BenchComparison, type BenchRow, type BenchSection } from '../testkit/bench-report.ts';

const RUNS = 15;
const WARMUP = 2;
const TARGET = 0.25;

interface Backend {
  label: string;
  env: Record<string, string>;
}

interface Case {
  label: string;
  photo: Buffer;
  enhance: Enhance;
}

/** What the client saw per capture. */
interface ClientTimings {
  totalMs: number[];
  processingMs: number[];
}

/** Per capture: the client's view plus two spans timed inside the service. */
interface Timings extends ClientTimings {
  decryptMs: number[];
  /** DocumentService.capture: idempotency claim, processing, storing blobs, record, audit. */
  useCaseMs: number[];
}

/** The bench reads the processing histogram from /metrics, which is served only behind a token. */
const METRICS_TOKEN = 'bench-metrics-token-0123456789';

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

/** The processing histogram's running sum, in ms. */
async function processingSumMs(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })).text();
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
async function captureOnce(base: string, token: string, key: JWK, photo: Buffer, enhance: string): Promise<{ totalMs: number; processingMs: number }> {
  const jwe = await joseEncrypt(key, photo, { cty: 'image/jpeg' });
  const form = new FormData();
  form.append('metadata', JSON.stringify({ title: 'Benchmark', source: 'camera', enhance }));
  form.append('file', new Blob([jwe], { type: 'application/jose' }), 'photo.jwe');
  const headers = { Authorization: `Bearer ${token}`, 'Idempotency-Key': randomUUID() };
  const before = await processingSumMs(base);
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/documents`, { method: 'POST', headers, body: form });
  await res.arrayBuffer();
  const totalMs = performance.now() - t0;
  if (res.status !== 201) throw new Error(`bench/capture.ts: capture answered ${res.status}`);
  return { totalMs, processingMs: (await processingSumMs(base)) - before };
}

/** Client mode (a child process): captures the photo from stdin WARMUP + RUNS times, prints the timings. */
async function runClient(base: string, token: string, enhance: string): Promise<void> {
  const photo = await buffer(process.stdin);
  const key = await p256Key(base);
  const timings: ClientTimings = { totalMs: [], processingMs: [] };
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const { totalMs, processingMs } = await captureOnce(base, token, key, photo, enhance);
    if (i < WARMUP) continue;
    timings.totalMs.push(totalMs);
    timings.processingMs.push(processingMs);
  }
  process.stdout.write(JSON.stringify(timings));
}

/** Times every call of `object[method]` into `into` (a bench-only wrapper; the app calls it through the same object). */
function timeCalls<K extends string>(object: Record<K, (...args: never[]) => Promise<unknown>>, method: K, into: number[]): void {
  const original = object[method].bind(object);
  object[method] = (async (...args: never[]) => {
    const t0 = performance.now();
    try {
      return await original(...args);
    } finally {
      into.push(performance.now() - t0);
    }
  }) as (typeof object)[K];
}

async function runService(app: TestApp, photo: Buffer, enhance: Enhance): Promise<ClientTimings> {
  const server = app.app.listen(0, '127.0.0.1');
  try {
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const token = await app.token({ sub: 'bench', roles: ['capture'], units: ['BA'] });
    const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--client', base, token, enhance];
    const child = execFile(process.execPath, args, { maxBuffer: 1 << 20 });
    const [out, err] = [text(child.stdout!), text(child.stderr!)];
    child.stdin!.end(photo);
    const [code] = (await once(child, 'close')) as [number];
    if (code !== 0) throw new Error(`bench/capture.ts: the client exited with ${code}: ${await err}`);
    return JSON.parse(await out) as ClientTimings;
  } finally {
    server.close();
  }
}

/** The service in this process, the client in a child process, so its encryption and garbage never run on the service's event loop. */
export async function measure(backend: Backend, photo: Buffer, enhance: Enhance = 'none'): Promise<Timings> {
  const app = await startTestApp({ LOG_LEVEL: 'warn', METRICS_TOKEN, ...backend.env }, { metadata: 'PGlite' });
  try {
    const decryptMs: number[] = [];
    const useCaseMs: number[] = [];
    timeCalls(app.deps.decryptor, 'decrypt', decryptMs);
    timeCalls(app.deps.documents as unknown as Record<'capture', () => Promise<unknown>>, 'capture', useCaseMs);
    const client = await runService(app, photo, enhance);
    return { ...client, decryptMs: decryptMs.slice(WARMUP), useCaseMs: useCaseMs.slice(WARMUP) };
  } finally {
    await app.close();
  }
}

/** S3 from the environment (bench/run.ts hands its RGW over), or a Ceph RGW of our own. */
async function s3Backend(): Promise<{ backend: Backend; stop(): Promise<void> }> {
  const bucket = `vsc-bench-capture-${randomBytes(4).toString('hex')}`;
  const { S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY } = process.env;
  if (S3_ENDPOINT && S3_ACCESS_KEY && S3_SECRET_KEY) {
    const env = { STORAGE_BACKEND: 's3', S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET: bucket };
    return { backend: { label: 'S3 store', env }, stop: async () => undefined };
  }
  const rgw = await startCephRgw();
  const env = { STORAGE_BACKEND: 's3', S3_ENDPOINT: rgw.endpoint, S3_ACCESS_KEY: rgw.accessKey, S3_SECRET_KEY: rgw.secretKey, S3_BUCKET: bucket };
  return { backend: { label: 'S3 store', env }, stop: () => rgw.stop() };
}

const whereTimeGoes =
  'Where the time outside processing goes, and what would reduce it. Storage is most of it: the original and the rendition are sealed (AES-GCM) and written durably (fsync, or an S3 PUT) side by side, then ' +
  'the idempotency claim and completion, feed entry, record and two audit entries follow as ordered small writes, each its own fsync or PUT; ' +
  'on this shared machine other engineers\' tests compete for the same disk. Passthrough made processing of an unenhanced photo cheap ' +
  '(no decode and re-encode), so these per-byte and per-request costs dominate its share; with enhance document the same costs are near the target. ' +
  'What would close it: storing the original while the worker processes (it is known before processing; a refused capture would then write ' +
  'and delete it, also under 503 backpressure), fewer ordered writes per capture (e.g. the audit entries and the record in one commit object), ' +
  'and decrypting while the body streams in instead of after multer buffered it.';

function summarize(label: string, t: Timings): { rows: BenchRow[]; comparison: BenchComparison } {
  const outside = t.totalMs.map((total, i) => (total - t.processingMs[i]!) / total);
  const share = median(outside);
  const met = share <= TARGET;
  const http = t.totalMs.map((total, i) => total - t.useCaseMs[i]! - t.decryptMs[i]!);
  const storage = t.useCaseMs.map((useCase, i) => useCase - t.processingMs[i]!);
  const rows: BenchRow[] = [
    {
      name: `capture ${label}: total (POST → 201, as the client sees it)`,
      medianMs: ms(t.totalMs),
      runs: t.totalMs.length,
      extra: { p95Ms: Math.round(percentile(t.totalMs, 0.95)) },
    },
    { name: `capture ${label}: processing (worker pool, from /metrics)`, medianMs: ms(t.processingMs), runs: t.processingMs.length },
    { name: `capture ${label}: JWE decryption`, medianMs: ms(t.decryptMs), runs: t.decryptMs.length },
    { name: `capture ${label}: storage and bookkeeping (use case minus processing)`, medianMs: ms(storage), runs: storage.length },
    { name: `capture ${label}: HTTP (send, multipart parse, answer; the rest)`, medianMs: ms(http), runs: http.length },
  ];
  const comparison: BenchComparison = {
    name: `capture ${label}: time outside processing / total`,
    ratio: Math.round(share * 1000) / 1000,
    target: `<= ${TARGET}`,
    met,
    ...(met ? {} : { note: `outside processing (medians): storage and bookkeeping ${ms(storage)} ms, HTTP ${ms(http)} ms, decryption ${ms(t.decryptMs)} ms; why, and what would close the gap: see the notes of this section.` }),
  };
  return { rows, comparison };
}

function ms(values: number[]): number {
  return Math.round(median(values));
}

function kib(bytes: Buffer): string {
  return (bytes.length / 1024).toFixed(0);
}

export async function bench(): Promise<BenchSection> {
  const photo = await cameraPhoto();
  const flat = await cameraJpeg({ width: 4000, height: 3000, orientation: 6, gps: true });
  const cases: Case[] = [
    { label: 'camera-like, enhance none', photo, enhance: 'none' },
    { label: 'camera-like, enhance document', photo, enhance: 'document' },
    { label: 'flat fixture, enhance none', photo: flat, enhance: 'none' },
  ];
  const s3 = await s3Backend();
  try {
    const backends: Backend[] = [{ label: 'filesystem store', env: {} }, s3.backend];
    const rows: BenchRow[] = [];
    const comparisons: BenchComparison[] = [];
    for (const c of cases) {
      for (const backend of backends) {
        const { rows: r, comparison } = summarize(`12 MP ${c.label}, ${backend.label}`, await measure(backend, c.photo, c.enhance));
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
        `${RUNS} sequential captures per case and store after ${WARMUP} warm-up captures; fetch + FormData from a child process against app.listen(0) on loopback; one fresh JWE (ECDH-ES+A256KW, P-256, A256GCM) and Idempotency-Key per capture, made before the clock starts; metadata as plain JSON.`,
        `Photos (4000×3000, EXIF orientation 6, GPS): "camera-like" is bench/processing.ts's noise-textured photo at JPEG q92, ${kib(photo)} KiB, about what a phone writes; "flat fixture" is testkit/fixtures/images.ts cameraJpeg (a drawn page, almost no texture), ${kib(flat)} KiB, where per-request costs dominate. enhance none keeps the camera JPEG (passthrough); enhance document decodes, enhances and re-encodes it.`,
        `S3 store: ${process.env.S3_ENDPOINT ? 'the S3_ENDPOINT given' : 'a Ceph RGW started here'} (bench/run.ts hands over its Ceph RGW 16.2, memstore, on loopback), a fresh bucket; EncryptedStore on top as in production.`,
        whereTimeGoes,
        "Processing is read from the service's vsc_processing_duration_seconds histogram (sum before and after each request): the request's time in the worker pool, including the transfer to and from the worker thread. Decryption and the use case (DocumentService.capture) are timed by wrapping those calls in the benchmark; HTTP is the client's total minus both. The share is the median over requests of (total − processing) / total.",
      ],
    };
  } finally {
    await s3.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [mode, base, token, enhance] = process.argv.slice(2);
  if (mode === '--client') await runClient(base!, token!, enhance ?? 'none');
  else console.log(JSON.stringify(await bench(), null, 2));
}
