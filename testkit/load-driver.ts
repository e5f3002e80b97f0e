/**
 * Load test: N concurrent uploaders send encrypted 12-megapixel camera photos while M viewers read
 * watermarked pages, against the service as its own process on S3 (Ceph RGW). Measures throughput,
 * latency percentiles, answers by status, the service's peak RSS and event-loop delay (from its
 * /metrics), and /healthz latency sampled during the load.
 *
 *   npx tsx testkit/load-driver.ts --uploaders 8 --viewers 2 --seconds 60
 *
 * Uses S3_ENDPOINT/S3_ACCESS_KEY/S3_SECRET_KEY when set, else starts a throwaway Ceph RGW.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { cameraJpeg } from './fixtures/images.ts';
import { startCephRgw } from './ceph-rgw.ts';
import type { S3Target } from './global-setup.ts';
import { clerk, devToken, encryptedCapture, ingestKey, postCapture } from './service-client.ts';
import { keysEnv, s3Env, startService, type ServiceProcess } from './service-process.ts';
import { uniqueBucket } from './s3.ts';
import { eventLoopDelaySinceLastScrape, type EventLoopDelay } from './event-loop-delay.ts';
import { watchHealthApart } from './healthz-probe.ts';
import sharp from 'sharp';
import type { BenchSection } from './bench-report.ts';

export interface LoadOptions {
  uploaders: number;
  viewers: number;
  durationMs: number;
  /** The S3 server; the bucket is a fresh one. */
  s3: Pick<S3Target, 'endpoint' | 'accessKey' | 'secretKey' | 'region'>;
  /** Extra service environment, e.g. PROCESSING_THREADS for experiments. */
  env?: Record<string, string>;
}

export interface Latencies {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface LoadResult {
  options: { uploaders: number; viewers: number; seconds: number; photoBytes: number; jweBytes: number };
  /** `lost`: ids answered 201 that the service could not read back after the run. */
  uploads: { byStatus: Record<string, number>; perMinute: number; latencyMs: Latencies; lost: string[] };
  pages: { byStatus: Record<string, number>; perSecond: number; latencyMs: Latencies };
  healthz: { latencyMs: Latencies; over100ms: number };
  service: { peakRssMiB: number; eventLoopDelayMs: EventLoopDelay };
  machine: { cores: number; loadAverage: [number, number, number] };
}

/** The acceptance bounds of the load run (issue 7): memory is checked by the test too, latency only in the benchmark report. */
export const BOUNDS = { peakRssMiB: 1536, eventLoopP99Ms: 100, healthzMs: 100 } as const;

/** Statuses that are answers under load: success, and 503 backpressure. */
const ACCEPTED = { uploads: ['201', '503'], pages: ['200', '503'] } as const;

/** Starts the service on a fresh bucket, seeds one document to view, runs the load and measures. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const service = await startService({ ...s3Env(options.s3, uniqueBucket('load')), ...(await keysEnv()), LOG_LEVEL: 'info', ...options.env });
  try {
    const token = await devToken(service.url, { ...clerk('load-clerk'), roles: ['capture', 'read'] });
    // One clerk per uploader, as in the field: one user's share of the upload slots is a quarter of them.
    const tokens: string[] = [];
    for (let i = 0; i < options.uploaders; i++) tokens.push(await devToken(service.url, { ...clerk(`load-clerk-${i}`), roles: ['capture'] }));
    const key = await ingestKey(service.url);
    const photo = await phonePhoto({ width: 4000, height: 3000 });
    const capture = () => encryptedCapture(key, 'Lastprobe', [photo]);
    const ticket = await seedDocument(service.url, token, capture);
    // Encrypted once per uploader before the clock starts, so the client's CPU does not compete with the service's.
    const bodies = await Promise.all(Array.from({ length: options.uploaders }, capture));
    const jweBytes = bodies[0]?.get('file') as Blob;

    await eventLoopDelaySinceLastScrape(service.url); // resets the service's delay histogram: only the load is measured
    const deadline = Date.now() + options.durationMs;
    const started = performance.now();
    const [uploads, pages, healthz] = await Promise.all([
      Promise.all(bodies.map((body, i) => uploader(service.url, tokens[i]!, body, deadline))).then((all) => all.flat()),
      many(options.viewers, () => viewer(service.url, ticket, deadline)),
      sampleHealthz(service.url, deadline),
    ]);
    const seconds = (performance.now() - started) / 1000;
    return {
      options: { uploaders: options.uploaders, viewers: options.viewers, seconds: round(seconds), photoBytes: photo.length, jweBytes: jweBytes.size },
      uploads: {
        byStatus: countByStatus(uploads),
        perMinute: round((ok(uploads, 201) / seconds) * 60),
        latencyMs: latencies(okTimes(uploads, 201)),
        lost: await unreadable(service.url, token, uploads),
      },
      pages: { byStatus: countByStatus(pages), perSecond: round(ok(pages, 200) / seconds), latencyMs: latencies(okTimes(pages, 200)) },
      healthz: { latencyMs: latencies(healthz), over100ms: healthz.filter((ms) => ms > BOUNDS.healthzMs).length },
      service: { peakRssMiB: round((await service.peakRss()) / 2 ** 20), eventLoopDelayMs: await eventLoopDelaySinceLastScrape(service.url) },
      machine: { cores: availableParallelism(), loadAverage: loadavg().map(round) as [number, number, number] },
    };
  } finally {
    await service.stop();
  }
}

/** What the run got wrong, in words (answers, lost documents, memory); empty when it was correct. Decides the load test. */
export function correctnessViolations(result: LoadResult): string[] {
  const problems: string[] = [];
  for (const kind of ['uploads', 'pages'] as const) {
    const wrong = Object.entries(result[kind].byStatus).filter(([status]) => !(ACCEPTED[kind] as readonly string[]).includes(status));
    if (wrong.length) problems.push(`${kind} answered ${JSON.stringify(Object.fromEntries(wrong))} (only ${ACCEPTED[kind].join('/')} allowed)`);
  }
  if (result.uploads.lost.length) problems.push(`${result.uploads.lost.length} acknowledged document(s) not readable afterwards: ${result.uploads.lost.join(', ')}`);
  if (result.service.peakRssMiB > BOUNDS.peakRssMiB) problems.push(`peak RSS ${result.service.peakRssMiB} MiB > ${BOUNDS.peakRssMiB} MiB`);
  return problems;
}

/** Latency bounds the run missed, in words: for the benchmark report only, since a shared machine's wall clock decides them. */
export function latencyViolations(result: LoadResult): string[] {
  const problems: string[] = [];
  if (result.service.eventLoopDelayMs.p99 > BOUNDS.eventLoopP99Ms) problems.push(`event-loop delay p99 ${result.service.eventLoopDelayMs.p99} ms > ${BOUNDS.eventLoopP99Ms} ms`);
  if (result.healthz.over100ms > 0) problems.push(`/healthz took over ${BOUNDS.healthzMs} ms ${result.healthz.over100ms} time(s) (max ${result.healthz.latencyMs.max} ms)`);
  return problems;
}

interface Sample {
  /** HTTP status, or "network" when the request failed without one. */
  status: string;
  ms: number;
  /** The document id of a 201. */
  id?: string;
}

/** cameraJpeg's page with sensor-like noise, so the JPEG is as large as a phone's (3-4 MB at 12 MP), not a flat 100 KB. */
async function phonePhoto(size: { width: number; height: number }): Promise<Buffer> {
  const { data, info } = await sharp(await cameraJpeg({ ...size, gps: false })).raw().toBuffer({ resolveWithObject: true });
  const noise = randomBytes(data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, data[i]! + (noise[i]! % 32) - 16));
  return sharp(data, { raw: info }).withExif({ IFD0: { Make: 'TestCam', Model: 'Model-1' } }).jpeg({ quality: 90 }).toBuffer();
}

/** One document to view during the load, and a ticket for it. */
async function seedDocument(url: string, token: string, capture: () => Promise<FormData>): Promise<{ id: string; ticket: string }> {
  const res = await postCapture(url, token, await capture());
  if (res.status !== 201) throw new Error(`seeding the viewed document failed: ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  const issued = await fetch(`${url}/v1/documents/${id}/views`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
  const { ticket } = (await issued.json()) as { ticket: string };
  return { id, ticket };
}

/** Uploads back to back until the deadline, each with its own Idempotency-Key; waits out Retry-After on 503 as clients do. */
async function uploader(url: string, token: string, body: FormData, deadline: number): Promise<Sample[]> {
  const samples: Sample[] = [];
  while (Date.now() < deadline) {
    const sample = await timed(() => postCapture(url, token, body, randomUUID()));
    samples.push(sample);
    if (sample.retryAfterS !== undefined) await sleep(Math.min(sample.retryAfterS * 1000, deadline - Date.now()));
  }
  return samples;
}

/** Reads page 1 at changing widths (a resized window), as the viewer does, until the deadline. */
async function viewer(url: string, { id, ticket }: { id: string; ticket: string }, deadline: number): Promise<Sample[]> {
  const samples: Sample[] = [];
  const widths = [800, 1000, 1200, 1400, 1600];
  for (let i = 0; Date.now() < deadline; i++) {
    const sample = await timed(() => fetch(`${url}/view-api/documents/${id}/pages/1?width=${widths[i % widths.length]}`, { headers: { Authorization: `Ticket ${ticket}` } }));
    samples.push(sample);
    if (sample.retryAfterS !== undefined) await sleep(Math.min(sample.retryAfterS * 1000, deadline - Date.now()));
  }
  return samples;
}

/** /healthz answer times in ms, sampled every 250 ms by testkit/healthz-probe.ts in a process of its own. */
async function sampleHealthz(url: string, deadline: number): Promise<number[]> {
  const watch = await watchHealthApart(url, 250);
  await sleep(deadline - Date.now());
  const { latenciesMs, failures } = await watch.stop();
  if (failures.length) throw new Error(`/healthz failed: ${failures.join('; ')}`);
  return latenciesMs;
}

async function timed(send: () => Promise<Response>): Promise<Sample & { retryAfterS?: number }> {
  const t0 = performance.now();
  try {
    const res = await send();
    const body = await res.arrayBuffer();
    if (res.status === 201) return { status: '201', ms: performance.now() - t0, ...idOf(body) };
    if (res.status !== 503) return { status: String(res.status), ms: performance.now() - t0 };
    const retryAfter = res.headers.get('retry-after');
    // Backpressure without Retry-After leaves clients guessing: not an accepted answer.
    if (!retryAfter) return { status: '503 without Retry-After', ms: performance.now() - t0, retryAfterS: 1 };
    return { status: '503', ms: performance.now() - t0, retryAfterS: Number(retryAfter) };
  } catch {
    return { status: 'network', ms: performance.now() - t0 };
  }
}

function idOf(body: ArrayBuffer): { id?: string } {
  const { id } = JSON.parse(Buffer.from(body).toString('utf8')) as { id?: unknown };
  return typeof id === 'string' ? { id } : {};
}

/** The 201s whose document cannot be read back (or that named no id): nothing acknowledged may be lost. */
async function unreadable(url: string, token: string, samples: Sample[]): Promise<string[]> {
  const lost: string[] = [];
  for (const { status, id } of samples) {
    if (status !== '201') continue;
    const res = id ? await fetch(`${url}/v1/documents/${id}`, { headers: { Authorization: `Bearer ${token}` } }) : undefined;
    await res?.arrayBuffer();
    if (res?.status !== 200) lost.push(id ?? '(201 without an id)');
  }
  return lost;
}

async function many<T>(count: number, run: () => Promise<T[]>): Promise<T[]> {
  return (await Promise.all(Array.from({ length: count }, run))).flat();
}

function countByStatus(samples: Sample[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { status } of samples) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

function ok(samples: Sample[], status: number): number {
  return samples.filter((s) => s.status === String(status)).length;
}

function okTimes(samples: Sample[], status: number): number[] {
  return samples.filter((s) => s.status === String(status)).map((s) => s.ms);
}

/** Nearest-rank percentiles. */
function latencies(values: number[]): Latencies {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0);
  return { count: sorted.length, p50: at(50), p95: at(95), p99: at(99), max: round(sorted.at(-1) ?? 0) };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** The S3 server from S3_* variables, or a throwaway Ceph RGW; `stop` ends what was started here. */
export async function s3ForLoad(): Promise<{ s3: LoadOptions['s3']; stop(): Promise<void> }> {
  const { S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION = 'us-east-1' } = process.env;
  if (S3_ENDPOINT && S3_ACCESS_KEY && S3_SECRET_KEY) {
    return { s3: { endpoint: S3_ENDPOINT, accessKey: S3_ACCESS_KEY, secretKey: S3_SECRET_KEY, region: S3_REGION }, stop: async () => undefined };
  }
  const rgw = await startCephRgw();
  return { s3: rgw, stop: () => rgw.stop() };
}

type RunSize = Partial<Pick<LoadOptions, 'uploaders' | 'viewers' | 'durationMs'>>;

/** The 60-second run of the acceptance criteria, for bench/run.ts (docs/BENCHMARKS.md). */
export async function bench(size: RunSize = {}): Promise<BenchSection> {
  return loadSection(await measure(size));
}

async function measure(size: RunSize): Promise<LoadResult> {
  const { s3, stop } = await s3ForLoad();
  try {
    return await runLoad({ uploaders: 8, viewers: 2, durationMs: 60_000, ...size, s3 });
  } finally {
    await stop();
  }
}

const MEMORY_GAP =
  'Memory is bounded by MAX_CONCURRENT_UPLOADS (each admitted upload holds its JWE, plaintext and artifacts), the worker count and VIEW_CACHE_BYTES; lower them.';
const EVENT_LOOP_GAP =
  'The event loop touches every byte of an upload: multipart copy, JWE decryption, the capture fingerprint (SHA-256), at-rest AES-GCM, and the minio ' +
  "client's MD5 and SHA-256 of each object in one synchronous call (about 7 ms per 3 MB object measured alone, stretched when the 2 cores are shared with " +
  'the worker, the gateway and other work; see the load average). Closing it: TLS to S3 (minio then skips the payload SHA-256), the fingerprint in the ' +
  'worker pool, or fewer admitted uploads (MAX_CONCURRENT_UPLOADS).';

/** A load run as a report section: latencies as rows, each bound as a comparison. */
export function loadSection(result: LoadResult): BenchSection {
  const { uploaders, viewers, seconds } = result.options;
  const row = (name: string, l: Latencies, extra: Record<string, number | string>) => ({
    name,
    medianMs: l.p50,
    runs: l.count,
    extra: { p95Ms: l.p95, p99Ms: l.p99, maxMs: l.max, ...extra },
  });
  const bound = (name: string, value: number, limit: number, unit: string, gap: string) => ({
    name: `${name}: ${value} ${unit} / ${limit} ${unit}`,
    ratio: Math.round((value / limit) * 100) / 100,
    target: '<= 1.0',
    met: value <= limit,
    ...(value > limit ? { note: gap } : {}),
  });
  const violations = [...correctnessViolations(result), ...latencyViolations(result)];
  return {
    title: `Load: ${uploaders} concurrent encrypted 12 MP camera uploads + ${viewers} viewers for ${seconds} s`,
    command: `npx tsx testkit/load-driver.ts --uploaders ${uploaders} --viewers ${viewers} --seconds ${Math.round(seconds)}`,
    rows: [
      row('capture POST /v1/documents (201)', result.uploads.latencyMs, { perMinute: result.uploads.perMinute, byStatus: JSON.stringify(result.uploads.byStatus) }),
      row('viewer page GET (200)', result.pages.latencyMs, { perSecond: result.pages.perSecond, byStatus: JSON.stringify(result.pages.byStatus) }),
      row('GET /healthz during load', result.healthz.latencyMs, { over100ms: result.healthz.over100ms }),
    ],
    comparisons: [
      bound('peak RSS of the service', result.service.peakRssMiB, BOUNDS.peakRssMiB, 'MiB', MEMORY_GAP),
      bound('event-loop delay p99', result.service.eventLoopDelayMs.p99, BOUNDS.eventLoopP99Ms, 'ms', EVENT_LOOP_GAP),
      bound('/healthz max', result.healthz.latencyMs.max, BOUNDS.healthzMs, 'ms', EVENT_LOOP_GAP),
    ],
    notes: [
      `Photo: ${(result.options.photoBytes / 2 ** 20).toFixed(1)} MiB JPEG, 4000 x 3000 (testkit/fixtures/images.ts cameraJpeg plus sensor-like noise), ${(result.options.jweBytes / 2 ** 20).toFixed(1)} MiB as JWE (ECDH-ES+A256KW P-256, A256GCM).`,
      `Event-loop delay max ${result.service.eventLoopDelayMs.max} ms (service /metrics, nodejs_eventloop_lag_*). Machine: ${result.machine.cores} cores, load average ${result.machine.loadAverage.join(' / ')} at the end (shared with other work).`,
      violations.length ? `Bounds missed: ${violations.join('; ')}.` : 'Every answer was 201/200 or 503 backpressure with Retry-After, every 201 read back; all bounds met.',
    ],
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { uploaders: { type: 'string', default: '8' }, viewers: { type: 'string', default: '2' }, seconds: { type: 'string', default: '60' } } });
  const result = await measure({ uploaders: Number(values.uploaders), viewers: Number(values.viewers), durationMs: Number(values.seconds) * 1000 });
  console.log(JSON.stringify({ result, section: loadSection(result) }, null, 2));
}
