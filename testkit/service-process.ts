/**
 * The real service as its own process (`node --import tsx src/main.ts`), as operators run it: for
 * fault, crash, two-instance and load tests that must stop, kill or measure a whole process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair } from 'jose';
import { generateIngestJwks } from '../src/keys/ingest-keys.ts';
import { generateKek, KekRing } from '../src/keys/kek-ring.ts';
import type { S3Target } from './global-setup.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const BANNER = /VS-Capture listening on (\S+)/;
const METRICS_LINE = /metrics: (\S+)/;
/** Every test service serves /metrics behind this token (METRICS_TOKEN); send METRICS_AUTH with a scrape. */
const METRICS_TOKEN = 'test-metrics-token-0123456789';
export const METRICS_AUTH = { Authorization: `Bearer ${METRICS_TOKEN}` } as const;
/** Lines of output kept for failure messages; older ones are dropped so a long run stays small. */
const KEPT_LINES = 200;

export interface ServiceProcess {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** The metrics listener's /metrics, when METRICS_PORT was set. */
  metricsUrl: string | undefined;
  dataDir: string;
  /** SIGTERM (graceful drain) and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash or an OOM kill does, and wait for the exit. */
  kill(): Promise<void>;
  /** Peak resident set size so far (Linux VmHWM), in bytes. */
  peakRss(): Promise<number>;
  /** Resident set size now (Linux VmRSS), in bytes. */
  rss(): Promise<number>;
  /** CPU time the process used so far, all threads (Linux utime + stime), in seconds. */
  cpuSeconds(): Promise<number>;
}

/**
 * Starts the service with `env` on top of a test baseline (any free port, no OCR).
 * Without DATA_DIR in `env` it gets a fresh one, removed when the process ends. `cwd`: another
 * copy of the repository to run (e.g. one installed without dev dependencies); `nodeArgs`: flags for node itself (e.g. --cpu-prof).
 */
export async function startService(env: Record<string, string>, options: { cwd?: string; nodeArgs?: string[] } = {}): Promise<ServiceProcess> {
  const ownDataDir = env.DATA_DIR ? undefined : await mkdtemp(path.join(tmpdir(), 'vsc-service-'));
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', 'src/main.ts'], {
    cwd: options.cwd ?? REPO,
    // OCR jobs only where a test is about them (OCR: 'on'): elsewhere they would only load the machine.
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', METRICS_TOKEN, DATA_DIR: ownDataDir ?? '', OCR: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - KEPT_LINES));
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = once(child, 'exit').then(() => (ownDataDir ? rm(ownDataDir, { recursive: true, force: true }) : undefined));
  const url = await listeningUrl(child, () => lines.join('\n'));
  const metricsUrl = lines.map((line) => METRICS_LINE.exec(line)?.[1]).find(Boolean);
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return {
    url,
    metricsUrl,
    dataDir: env.DATA_DIR ?? ownDataDir!,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    peakRss: () => statusBytes(child.pid!, 'VmHWM'),
    rss: () => statusBytes(child.pid!, 'VmRSS'),
    cpuSeconds: () => cpuSeconds(child.pid!),
  };
}

/** A hang guard, under vitest's 300 s hook timeout so its failure shows the output: a start took over 60 s at load average 31 (stress run). */
const START_GUARD_MS = 240_000;

/** Waits for the start banner; fails with the output when the process exits first or hangs. */
function listeningUrl(child: ChildProcess, output: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(`did not start within ${START_GUARD_MS / 1000} s`), START_GUARD_MS);
    const onData = (chunk: Buffer) => {
      const match = BANNER.exec(chunk.toString('utf8'));
      if (!match) return;
      cleanup();
      resolve(match[1]!);
    };
    const onExit = (code: number | null) => fail(`exited with ${code} before listening`);
    function cleanup() {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
    }
    function fail(why: string) {
      cleanup();
      child.kill('SIGKILL');
      reject(new Error(`service ${why}:\n${output()}`));
    }
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

async function statusBytes(pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
  if (!kib) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(kib) * 1024;
}

/** utime and stime from /proc/PID/stat (fields 14 and 15, after the parenthesised name), in clock ticks of 1/100 s. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Environment for the S3 backend on `target`, in its own bucket. */
export function s3Env(target: Pick<S3Target, 'endpoint' | 'accessKey' | 'secretKey' | 'region'>, bucket: string): Record<string, string> {
  return {
    STORAGE_BACKEND: 's3',
    S3_ENDPOINT: target.endpoint,
    S3_REGION: target.region,
    S3_ACCESS_KEY: target.accessKey,
    S3_SECRET_KEY: target.secretKey,
    S3_BUCKET: bucket,
  };
}

/** Fresh storage, search, ingest and view-ticket keys as environment values, the way production hands them to every instance. */
export async function keysEnv(): Promise<Record<string, string>> {
  const viewKey = await generateKeyPair('ES256', { extractable: true });
  return {
    STORAGE_KEYS: JSON.stringify(new KekRing([generateKek('test-1')]).toJSON()),
    SEARCH_KEYS: JSON.stringify(new KekRing([generateKek('search-1')]).toJSON()),
    INGEST_KEYS: JSON.stringify({ keys: await generateIngestJwks() }),
    VIEW_TICKET_KEY: JSON.stringify(await exportJWK(viewKey.privateKey)),
  };
}
