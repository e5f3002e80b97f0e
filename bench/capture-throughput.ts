/**
 * Capture throughput under 4 clients as a share of the processing ceiling (issue 13): the ceiling is
 * cores ÷ processing time per capture (the worker pool's own time, from the service's
 * vsc_processing_duration_seconds histogram, measured with one client so no capture waits in the queue);
 * the share is what 4 concurrent clients reach against it. The service runs as its own process
 * (src/main.ts, filesystem store, PostgreSQL 15, OCR off); the clients are this process.
 *
 *   npx tsx bench/capture-throughput.ts            (add --profile DIR for the service's --cpu-prof files)
 *
 * BENCH_BASELINE_TREE=DIR also runs the service from another checkout (e.g. `git archive main` with this
 * node_modules linked in), case by case alternating with this one, so both face the same machine load.
 */
import { execFileSync } from 'node:child_process';
import { createCipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import type { JWK } from 'jose';
import { encryptFor } from '../client/encrypt.ts';
import { germanPage } from '../testkit/fixtures/photos.ts';
import { startPostgres } from '../testkit/postgres.ts';
import { clerk, devToken, ingestKey } from '../testkit/service-client.ts';
import { keysEnv, METRICS_AUTH, startService, type ServiceProcess } from '../testkit/service-process.ts';
import { cameraPhoto } from './processing.ts';
import type { BenchComparison, BenchRow, BenchSection } from '../testkit/bench-report.ts';

const CLIENTS = 4;
const TARGET = 0.8;
const WARMUP = 2;
/** Captures of the one-client phase that sets the ceiling. */
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 8);
/** Captures per client in the 4-client phase. */
const PER_CLIENT = Number(process.env.BENCH_PER_CLIENT ?? 8);
const SCAN_PAGES = 20;
const BASELINE = process.env.BENCH_BASELINE_TREE;
/** BENCH_CASES=photo or scan: only that case (e.g. to profile one). */
const ONLY = process.env.BENCH_CASES?.split(',');

interface Case {
  label: string;
  file: Buffer;
  mediaType: string;
  metadata: Record<string, unknown>;
}

/** A capture request's body, built once as bytes: the clients only send it. */
interface CaptureBody {
  bytes: Buffer;
  contentType: string;
}

interface Measured {
  label: string;
  /** Which service tree ran: this one or the baseline. */
  tree: string;
  fileBytes: number;
  /** Mean processing time per capture with one client, ms. */
  processingMs: number;
  /** The service's CPU time per capture with one client (all threads), ms: what one capture costs it with nothing waiting. */
  oneClientCpuMsPerCapture: number;
  /** The rendition's size, bytes (the service seals and writes it besides the original). */
  renditionBytes: number;
  /** The request body's size, bytes (the JWE of the file and of the metadata, multipart framing). */
  bodyBytes: number;
  ceilingPerSecond: number;
  sequentialPerSecond: number;
  concurrentPerSecond: number;
  /** 503 answers the clients waited out (Retry-After) in the 4-client phase. */
  busy: number;
  /** The service process's CPU (all threads) during the 4-client phase, in cores. */
  serviceCores: number;
  /** The service's CPU time per capture in the 4-client phase (all threads), ms: less disturbed by a loaded machine than captures/s. */
  serviceCpuMsPerCapture: number;
  /** This process's CPU (the 4 clients) per capture in that phase, ms: it shares the cores with the service. */
  clientCpuMsPerCapture: number;
  share: number;
}

/** The processing histogram's running sum (ms) and count. */
async function processingTotals(url: string): Promise<{ ms: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`, { headers: METRICS_AUTH })).text();
  const value = (name: string) => {
    const match = new RegExp(`^vsc_processing_duration_seconds_${name} (\\S+)$`, 'm').exec(text);
    if (!match) throw new Error(`bench/capture-throughput.ts: /metrics has no vsc_processing_duration_seconds_${name}`);
    return Number(match[1]);
  };
  return { ms: value('sum') * 1000, count: value('count') };
}

/**
 * A capture body as the container app sends it, encrypted and framed as multipart/form-data once before the
 * clock starts (the phone's work), so the clients, which share the service's cores, only send bytes.
 */
async function captureBody(key: JWK, c: Case): Promise<CaptureBody> {
  const metadata = await encryptFor(key, Buffer.from(JSON.stringify(c.metadata)), 'application/json');
  const file = await encryptFor(key, c.file, c.mediaType);
  const boundary = `----vsc-bench-${randomUUID()}`;
  const bytes = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${metadata}\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="part-1"\r\nContent-Type: application/jose\r\n\r\n`),
    Buffer.from(file, 'latin1'),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { bytes, contentType: `multipart/form-data; boundary=${boundary}` };
}

/** One connection per client, kept open between its captures, as a container app's HTTP client does. */
const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });

interface Answer {
  status: number;
  retryAfter: number;
  text: string;
}

function post(url: string, token: string, body: CaptureBody): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = { Authorization: `Bearer ${token}`, 'Idempotency-Key': randomUUID(), 'Content-Type': body.contentType, 'Content-Length': body.bytes.length };
    const req = http.request(`${url}/v1/documents`, { method: 'POST', agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: Number(res.headers['retry-after'] ?? 1), text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body.bytes);
  });
}

/** `count` captures back to back, each with its own Idempotency-Key; a 503 is waited out as clients do. Returns the 503s seen and the last document's rendition size. */
async function client(url: string, token: string, body: CaptureBody, count: number): Promise<{ busy: number; renditionBytes: number }> {
  let busy = 0;
  let renditionBytes = 0;
  for (let done = 0; done < count; ) {
    const answer = await post(url, token, body);
    if (answer.status === 503) {
      busy++;
      await new Promise((resolve) => setTimeout(resolve, answer.retryAfter * 1000));
      continue;
    }
    if (answer.status !== 201) throw new Error(`bench/capture-throughput.ts: capture answered ${answer.status}: ${answer.text.slice(0, 300)}`);
    renditionBytes = (JSON.parse(answer.text) as { rendition: { size: number } }).rendition.size;
    done++;
  }
  return { busy, renditionBytes };
}

async function measureCase(service: ServiceProcess, tree: string, c: Case): Promise<Measured> {
  const key = await ingestKey(service.url);
  const body = await captureBody(key, c);
  const tokens = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => devToken(service.url, { ...clerk(`throughput-${i}`), roles: ['capture'] })));
  await client(service.url, tokens[0]!, body, WARMUP);

  const before = await processingTotals(service.url);
  const oneClientCpuBefore = await service.cpuSeconds();
  let t0 = performance.now();
  const { renditionBytes } = await client(service.url, tokens[0]!, body, SEQUENTIAL);
  const sequentialS = (performance.now() - t0) / 1000;
  const oneClientCpuS = (await service.cpuSeconds()) - oneClientCpuBefore;
  const after = await processingTotals(service.url);
  const processingMs = (after.ms - before.ms) / (after.count - before.count);

  const cpuBefore = await service.cpuSeconds();
  const clientCpuBefore = process.cpuUsage();
  t0 = performance.now();
  const busy = await Promise.all(tokens.map((token) => client(service.url, token, body, PER_CLIENT)));
  const concurrentS = (performance.now() - t0) / 1000;
  const serviceCpuS = (await service.cpuSeconds()) - cpuBefore;
  const clientCpu = process.cpuUsage(clientCpuBefore);
  const serviceCores = serviceCpuS / concurrentS;
  const captures = CLIENTS * PER_CLIENT;

  const ceilingPerSecond = availableParallelism() / (processingMs / 1000);
  const concurrentPerSecond = captures / concurrentS;
  return {
    label: c.label,
    tree,
    serviceCores,
    serviceCpuMsPerCapture: (serviceCpuS * 1000) / captures,
    clientCpuMsPerCapture: (clientCpu.user + clientCpu.system) / 1000 / captures,
    fileBytes: c.file.length,
    bodyBytes: body.bytes.length,
    renditionBytes,
    processingMs,
    oneClientCpuMsPerCapture: (oneClientCpuS * 1000) / SEQUENTIAL,
    ceilingPerSecond,
    sequentialPerSecond: SEQUENTIAL / sequentialS,
    concurrentPerSecond,
    busy: busy.reduce((sum, one) => sum + one.busy, 0),
    share: concurrentPerSecond / ceilingPerSecond,
  };
}

/** 20 A4 pages of German text at 200 dpi as a scanner writes them: greyscale JPEGs wrapped by img2pdf (no re-encoding). */
async function scannedPdf(dir: string): Promise<Buffer> {
  const page = await sharp(germanPage(1654)).jpeg({ quality: 85 }).toBuffer();
  const files: string[] = [];
  for (let i = 0; i < SCAN_PAGES; i++) {
    const file = path.join(dir, `page-${i}.jpg`);
    await writeFile(file, page);
    files.push(file);
  }
  const out = path.join(dir, 'scan.pdf');
  const convert = 'import sys, img2pdf; open(sys.argv[1], "wb").write(img2pdf.convert(sys.argv[2:], layout_fun=img2pdf.get_layout_fun((img2pdf.mm_to_pt(210), img2pdf.mm_to_pt(297)))))';
  execFileSync('/usr/bin/python3', ['-c', convert, out, ...files]);
  return readFile(out);
}

async function cases(dir: string): Promise<Case[]> {
  const wanted = (name: string) => !ONLY || ONLY.includes(name);
  return [
    ...(wanted('photo') ? [{ label: '12 MP camera photo, enhance none', file: await cameraPhoto(), mediaType: 'image/jpeg', metadata: { title: 'Durchsatz', source: 'camera', enhance: 'none' } }] : []),
    ...(wanted('scan') ? [{ label: `${SCAN_PAGES}-page scanned PDF`, file: await scannedPdf(dir), mediaType: 'application/pdf', metadata: { title: 'Durchsatz', source: 'scanner' } }] : []),
  ];
}

/** This machine's rates for the work no capture can skip, ms per MiB, measured in this process before the services start. */
interface Rates {
  aesGcm: number;
  sha256: number;
  base64url: number;
}

function msPerMiB(step: (chunk: Buffer) => void): number {
  const chunk = randomBytes(2 ** 16);
  const mib = 64;
  const t0 = process.cpuUsage();
  for (let i = 0; i < mib * 16; i++) step(chunk);
  const used = process.cpuUsage(t0);
  return (used.user + used.system) / 1000 / mib;
}

function machineRates(): Rates {
  const key = randomBytes(32);
  const encoded = randomBytes(2 ** 16).toString('base64url');
  const decoded = Buffer.alloc(2 ** 16);
  return {
    // As at-rest.ts seals: one cipher per 64 KiB segment.
    aesGcm: msPerMiB((chunk) => {
      const cipher = createCipheriv('aes-256-gcm', key, randomBytes(12));
      cipher.update(chunk);
      cipher.final();
    }),
    sha256: msPerMiB((chunk) => createHash('sha256').update(chunk).digest()),
    // Per MiB of decoded bytes (4/3 as many characters): each step decodes 64 KiB.
    base64url: msPerMiB(() => decoded.write(encoded, 'base64url')),
  };
}

/** What a capture's CPU outside processing is made of: the crypto it cannot skip at this machine's rates, and the bytes it writes. */
function breakdown(m: Measured, rates: Rates): string {
  const mib = (bytes: number) => bytes / 2 ** 20;
  const decrypt = mib(m.fileBytes) * (rates.base64url + rates.aesGcm);
  const hash = mib(m.fileBytes) * rates.sha256;
  const seal = mib(m.fileBytes + m.renditionBytes) * rates.aesGcm;
  const outside = m.oneClientCpuMsPerCapture - m.processingMs;
  return (
    `${m.label}${BASELINE ? ` (${m.tree})` : ''}: service CPU per capture with one client ${Math.round(m.oneClientCpuMsPerCapture)} ms, processing ${Math.round(m.processingMs)} ms, so ${Math.round(outside)} ms outside processing; ` +
    `of that the crypto no capture skips, at this machine's rates, is ${Math.round(decrypt + hash + seal)} ms: decoding and decrypting the JWE (${round(mib(m.fileBytes))} MiB) ${Math.round(decrypt)} ms, its SHA-256 ${Math.round(hash)} ms, sealing the original and the ${round(mib(m.renditionBytes))} MiB rendition ${Math.round(seal)} ms; ` +
    `the request body is ${round(mib(m.bodyBytes))} MiB, and ${round(mib(m.fileBytes + m.renditionBytes))} MiB are written sealed and fsynced (plus the record and audit rows in PostgreSQL).`
  );
}

function round(value: number, digits = 1): number {
  return Number(value.toFixed(digits));
}

export async function measure(profileDir?: string): Promise<{ results: Measured[]; loadAverage: number[]; rates: Rates }> {
  const rates = machineRates();
  const dir = await mkdtemp(path.join(tmpdir(), 'vsc-bench-throughput-'));
  const postgres = await startPostgres();
  try {
    const all = await cases(dir);
    // On a shared machine a capture can wait minutes for the cores: the budget only guards against hangs here.
    const env = { ...(await keysEnv()), OCR: 'off', PROCESSING_TIME_BUDGET_MS: '900000' };
    const trees = [{ name: 'this branch', cwd: undefined }, ...(BASELINE ? [{ name: 'baseline', cwd: BASELINE }] : [])];
    const services: Array<{ name: string; service: ServiceProcess }> = [];
    try {
      for (const tree of trees) {
        const nodeArgs = profileDir && !tree.cwd ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
        services.push({ name: tree.name, service: await startService({ ...env, DATABASE_URL: await postgres.createDatabase() }, { ...(tree.cwd ? { cwd: tree.cwd } : {}), nodeArgs }) });
      }
      const results: Measured[] = [];
      for (const c of all) {
        for (const { name, service } of services) {
          results.push(await measureCase(service, name, c));
          // Each result as it comes, so a cut-off run still leaves its figures.
          console.error(JSON.stringify({ ...results.at(-1), loadAverage: loadavg() }));
        }
      }
      return { results, loadAverage: loadavg(), rates };
    } finally {
      await Promise.all(services.map(({ service }) => service.stop()));
    }
  } finally {
    await postgres.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function bench(): Promise<BenchSection> {
  const { results, loadAverage, rates } = await measure();
  const label = (m: Measured) => `capture ${m.label}${BASELINE ? ` (${m.tree})` : ''}`;
  const rows: BenchRow[] = results.flatMap((m) => [
    { name: `${label(m)}: processing per capture (one client, worker pool, from /metrics)`, medianMs: Math.round(m.processingMs), runs: SEQUENTIAL },
    {
      name: `${label(m)}: ${CLIENTS} clients, 1000 ÷ captures/s (ceiling ${availableParallelism()} cores ÷ processing; service CPU in cores)`,
      medianMs: Math.round(1000 / m.concurrentPerSecond),
      runs: CLIENTS * PER_CLIENT,
      extra: {
        ceiling: round(m.ceilingPerSecond),
        oneClient: round(m.sequentialPerSecond),
        fourClients: round(m.concurrentPerSecond),
        serviceCores: round(m.serviceCores, 2),
        serviceCpuMsPerCapture: Math.round(m.serviceCpuMsPerCapture),
        oneClientServiceCpuMsPerCapture: Math.round(m.oneClientCpuMsPerCapture),
        clientCpuMsPerCapture: Math.round(m.clientCpuMsPerCapture),
        busy503: m.busy,
        fileKiB: Math.round(m.fileBytes / 1024),
      },
    },
  ]);
  const comparisons: BenchComparison[] = results.flatMap((m) => {
    // How well concurrency uses the cores: the capacity the service's own CPU per capture (one client, all threads) allows.
    const used = m.concurrentPerSecond / (availableParallelism() / (m.oneClientCpuMsPerCapture / 1000));
    return [
      { name: `${label(m)}: throughput under ${CLIENTS} clients / processing ceiling`, ratio: round(m.share, 3), target: `>= ${TARGET}`, met: m.share >= TARGET },
      {
        name: `supplementary, not issue 13's target — ${label(m)}: throughput under ${CLIENTS} clients / (${availableParallelism()} cores ÷ service CPU per capture with one client)`,
        ratio: round(used, 3),
        target: `>= ${TARGET} (supplementary)`,
        met: used >= TARGET,
        note: 'how much of the cores concurrency turns into captures, counting all the service\'s CPU per capture (not only processing); below 1 where the clients, PostgreSQL or anything else on the machine take cores, or where captures wait on each other.',
      },
    ];
  });
  return {
    title: `Capture throughput under ${CLIENTS} clients against the processing ceiling (OCR off)`,
    command: `${BASELINE ? 'BENCH_BASELINE_TREE=DIR ' : ''}npx tsx bench/capture-throughput.ts`,
    rows,
    comparisons,
    notes: [
      `Service as its own process (node --import tsx src/main.ts), filesystem store, PostgreSQL 15 on loopback, OCR=off (no text layer jobs run; with OCR on each capture queues one after the 201); clients in the benchmark process, one JWE (ECDH-ES+A256KW, P-256, A256GCM) per case made before the clock starts, a fresh Idempotency-Key per capture, metadata encrypted too. The multipart body is built once as bytes and sent with node:http over a kept-alive connection per client, so the clients take as little of the shared cores as a sender can.`,
      `Ceiling = ${availableParallelism()} cores ÷ mean processing time per capture over ${SEQUENTIAL} captures of one client (after ${WARMUP} warm-up captures); then ${CLIENTS} clients (one user each) send ${PER_CLIENT} captures each back to back; share = their captures/s ÷ ceiling. "service CPU" is the service process's CPU time (all threads, /proc) during the ${CLIENTS}-client phase ÷ its duration; per capture, it and the clients' CPU (this process) are what a loaded machine disturbs least.`,
      `The clients, PostgreSQL, the filesystem and everything else on this machine share the same ${availableParallelism()} cores with the service. Load average at the end: ${loadAverage.map((v) => round(v, 2)).join(' / ')}.`,
      `Supplementary (not the issue's target): ${CLIENTS}-client captures/s ÷ (${availableParallelism()} cores ÷ the service's CPU per capture with one client, all threads, /proc): how well concurrency uses the cores when every CPU millisecond of a capture counts, not only processing.`,
      `Where the CPU outside processing goes, per capture (rates measured in this process before the services start: AES-256-GCM ${round(rates.aesGcm, 2)} ms/MiB, SHA-256 ${round(rates.sha256, 2)} ms/MiB, base64url decoding ${round(rates.base64url, 2)} ms per decoded MiB): ${results.map((m) => breakdown(m, rates)).join(' ')}`,
      ...(BASELINE ? ['"baseline" is the service from the tree in BENCH_BASELINE_TREE, measured case by case alternating with this branch, against the same PostgreSQL server.'] : []),
    ],
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { profile: { type: 'string' } } });
  if (values.profile) console.log(JSON.stringify(await measure(path.resolve(values.profile)), null, 2));
  else console.log(JSON.stringify(await bench(), null, 2));
}
