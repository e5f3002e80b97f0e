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
import { randomUUID } from 'node:crypto';
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

interface Measured {
  label: string;
  /** Which service tree ran: this one or the baseline. */
  tree: string;
  fileBytes: number;
  /** Mean processing time per capture with one client, ms. */
  processingMs: number;
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

/** A capture body as the container app sends it, encrypted once before the clock starts (the phone's work). */
async function captureBody(key: JWK, c: Case): Promise<() => FormData> {
  const metadata = await encryptFor(key, Buffer.from(JSON.stringify(c.metadata)), 'application/json');
  const file = new Blob([await encryptFor(key, c.file, c.mediaType)], { type: 'application/jose' });
  return () => {
    const form = new FormData();
    form.append('metadata', metadata);
    form.append('file', file, 'part-1');
    return form;
  };
}

/** `count` captures back to back, each with its own Idempotency-Key; a 503 is waited out as clients do. Returns the 503s seen. */
async function client(url: string, token: string, body: () => FormData, count: number): Promise<number> {
  let busy = 0;
  for (let done = 0; done < count; ) {
    const res = await fetch(`${url}/v1/documents`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Idempotency-Key': randomUUID() }, body: body() });
    const answer = await res.text();
    if (res.status === 503) {
      busy++;
      await new Promise((resolve) => setTimeout(resolve, Number(res.headers.get('retry-after') ?? 1) * 1000));
      continue;
    }
    if (res.status !== 201) throw new Error(`bench/capture-throughput.ts: capture answered ${res.status}: ${answer.slice(0, 300)}`);
    done++;
  }
  return busy;
}

async function measureCase(service: ServiceProcess, tree: string, c: Case): Promise<Measured> {
  const key = await ingestKey(service.url);
  const body = await captureBody(key, c);
  const tokens = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => devToken(service.url, { ...clerk(`throughput-${i}`), roles: ['capture'] })));
  await client(service.url, tokens[0]!, body, WARMUP);

  const before = await processingTotals(service.url);
  let t0 = performance.now();
  await client(service.url, tokens[0]!, body, SEQUENTIAL);
  const sequentialS = (performance.now() - t0) / 1000;
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
    processingMs,
    ceilingPerSecond,
    sequentialPerSecond: SEQUENTIAL / sequentialS,
    concurrentPerSecond,
    busy: busy.reduce((a, b) => a + b, 0),
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

function round(value: number, digits = 1): number {
  return Number(value.toFixed(digits));
}

export async function measure(profileDir?: string): Promise<{ results: Measured[]; loadAverage: number[] }> {
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
      return { results, loadAverage: loadavg() };
    } finally {
      await Promise.all(services.map(({ service }) => service.stop()));
    }
  } finally {
    await postgres.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function bench(): Promise<BenchSection> {
  const { results, loadAverage } = await measure();
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
        clientCpuMsPerCapture: Math.round(m.clientCpuMsPerCapture),
        busy503: m.busy,
        fileKiB: Math.round(m.fileBytes / 1024),
      },
    },
  ]);
  const comparisons: BenchComparison[] = results.map((m) => ({
    name: `${label(m)}: throughput under ${CLIENTS} clients / processing ceiling`,
    ratio: round(m.share, 3),
    target: `>= ${TARGET}`,
    met: m.share >= TARGET,
  }));
  return {
    title: `Capture throughput under ${CLIENTS} clients against the processing ceiling (OCR off)`,
    command: `${BASELINE ? 'BENCH_BASELINE_TREE=DIR ' : ''}npx tsx bench/capture-throughput.ts`,
    rows,
    comparisons,
    notes: [
      `Service as its own process (node --import tsx src/main.ts), filesystem store, PostgreSQL 15 on loopback, OCR=off (no text layer jobs run; with OCR on each capture queues one after the 201); clients in the benchmark process, one JWE (ECDH-ES+A256KW, P-256, A256GCM) per case made before the clock starts, a fresh Idempotency-Key per capture, metadata encrypted too.`,
      `Ceiling = ${availableParallelism()} cores ÷ mean processing time per capture over ${SEQUENTIAL} captures of one client (after ${WARMUP} warm-up captures); then ${CLIENTS} clients (one user each) send ${PER_CLIENT} captures each back to back; share = their captures/s ÷ ceiling. "service CPU" is the service process's CPU time (all threads, /proc) during the ${CLIENTS}-client phase ÷ its duration; per capture, it and the clients' CPU (this process) are what a loaded machine disturbs least.`,
      `The clients, PostgreSQL, the filesystem and everything else on this machine share the same ${availableParallelism()} cores with the service. Load average at the end: ${loadAverage.map((v) => round(v, 2)).join(' / ')}.`,
      ...(BASELINE ? ['"baseline" is the service from the tree in BENCH_BASELINE_TREE, measured case by case alternating with this branch, against the same PostgreSQL server.'] : []),
    ],
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { profile: { type: 'string' } } });
  if (values.profile) console.log(JSON.stringify(await measure(path.resolve(values.profile)), null, 2));
  else console.log(JSON.stringify(await bench(), null, 2));
}
