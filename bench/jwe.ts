/** JWE part decryption, 5 MB and 50 MB: decryptPart vs jose's compactDecrypt vs Python jwcrypto. Run alone: npx tsx bench/jwe.ts */

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { compactDecrypt, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { INGEST_KEYS } from '../src/keys/ingest-keys.ts';
import { loadKey } from '../src/keys/key-source.ts';
import { decryptPart } from '../src/crypto/jwe.ts';
import { joseEncrypt, runJwcrypto } from '../testkit/jwe-fixtures.ts';
import { median, timeMedian, type BenchComparison, type BenchRow, type BenchSection } from '../testkit/bench-report.ts';

const SIZES_MIB = [5, 50];
const RUNS: Record<number, number> = { 5: 9, 50: 5 };
const MIB = 2 ** 20;
type Impl = 'decryptPart' | 'jose';
const SMALL_PART_MEMORY_NOTE =
  'About 10 MiB of the growth does not scale with the part: decrypted 768 KiB steps waiting for GC and first-use ' +
  'allocations in a fresh process. The issue sets the 3x target for 50 MB parts; Node offers no in-place GCM output to remove it.';

interface Fixture {
  mib: number;
  file: string;
  compact: string;
}

export async function bench(): Promise<BenchSection> {
  const dir = await mkdtemp(join(tmpdir(), 'vs-bench-jwe-'));
  try {
    const jwk = await benchKey();
    const keyJson = JSON.stringify(jwk);
    const rows: BenchRow[] = [];
    const comparisons: BenchComparison[] = [];
    for (const mib of SIZES_MIB) {
      const fixture = await makeFixture(dir, jwk, mib);
      const measured = await measureSize(fixture, keyJson);
      rows.push(...measured.rows);
      comparisons.push(...measured.comparisons);
    }
    return {
      title: 'JWE part decryption (ECDH-ES+A256KW P-256, A256GCM)',
      command: 'npx tsx bench/jwe.ts',
      rows,
      comparisons,
      notes: [
        'Time ratios compare in-process medians: Node performance.now() around decryptPart, Python time.perf_counter() around jwcrypto deserialize+decrypt; both start from the compact string in memory with the key loaded, after one warm-up.',
        'jwcrypto "whole process" includes Python start, imports, reading the JWE from a pipe and writing the plaintext to one; shown for context only.',
        'Peak memory: a fresh child process per measurement reads the JWE, decrypts a 64 KiB part to warm up, settles, resets VmHWM (/proc/self/clear_refs) and reports peak RSS minus RSS before one more decryption; the plaintext itself (1x) is included.',
        `Machine: Node ${process.version}, ${availableParallelism()} CPUs.`,
      ],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function measureSize(fixture: Fixture, keyJson: string): Promise<{ rows: BenchRow[]; comparisons: BenchComparison[] }> {
  const { mib, compact, file } = fixture;
  const runs = RUNS[mib]!;
  const ourDecrypt = await decryptorFor('decryptPart', keyJson);
  const joseDecrypt = await decryptorFor('jose', keyJson);
  const ours = await timeMedian(() => ourDecrypt(compact), runs);
  const jose = await timeMedian(() => joseDecrypt(compact), runs);
  const python = JSON.parse((await runJwcrypto(['time', keyJson, file, String(runs)])).toString()) as { medianMs: number };
  const pythonProcess = await wholeProcessMs(keyJson, compact, runs);
  const memory = {
    decryptPart: await childPeak('decryptPart', file, keyJson),
    jose: await childPeak('jose', file, keyJson),
    jwcrypto: await pythonPeak(file, keyJson),
  };
  const payload = mib * MIB;
  const mem = (bytes: number) => ({ peakRssDeltaMiB: round(bytes / MIB), peakVsPayload: round(bytes / payload) });
  const rows: BenchRow[] = [
    { name: `${mib} MB — decryptPart (VS-Capture)`, medianMs: round(ours), runs, extra: mem(memory.decryptPart) },
    { name: `${mib} MB — jose compactDecrypt`, medianMs: round(jose), runs, extra: mem(memory.jose) },
    { name: `${mib} MB — jwcrypto in-process`, medianMs: round(python.medianMs), runs, extra: mem(memory.jwcrypto) },
    { name: `${mib} MB — jwcrypto whole process`, medianMs: round(pythonProcess), runs },
  ];
  const timeRatio = ours / python.medianMs;
  const memoryRatio = memory.decryptPart / payload;
  const comparisons: BenchComparison[] = [
    { name: `${mib} MB time: decryptPart / jwcrypto (in-process)`, ratio: round(timeRatio), target: '<= 1.0', met: timeRatio <= 1 },
    {
      name: `${mib} MB peak memory growth: decryptPart / payload`,
      ratio: round(memoryRatio),
      target: '<= 3.0',
      met: memoryRatio <= 3,
      ...(memoryRatio > 3 && { note: SMALL_PART_MEMORY_NOTE }),
    },
  ];
  return { rows, comparisons };
}

async function benchKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256', extractable: true });
  return { ...(await exportJWK(privateKey)), kid: 'bench-p256', alg: 'ECDH-ES+A256KW', use: 'enc' };
}

/** Random plaintext, encrypted by jose; only the ciphertext is written, for the child processes. */
async function makeFixture(dir: string, jwk: JWK, mib: number): Promise<Fixture> {
  const compact = await joseEncrypt(publicPart(jwk), randomBytes(mib * MIB));
  const file = join(dir, `part-${mib}mib.jwe`);
  await writeFile(file, compact);
  return { mib, file, compact };
}

function publicPart(jwk: JWK): JWK {
  const { d: _private, ...publicJwk } = jwk;
  return publicJwk;
}

async function wholeProcessMs(keyJson: string, compact: string, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await runJwcrypto(['decrypt', keyJson], Buffer.from(compact));
    times.push(performance.now() - t0);
  }
  return median(times);
}

const run = promisify(execFile);

/** Peak RSS growth of one decryption in a fresh Node process (this file, in child mode). */
async function childPeak(impl: Impl, file: string, keyJson: string): Promise<number> {
  const script = fileURLToPath(import.meta.url);
  const args = ['--expose-gc', '--import', 'tsx', script, '--memory', impl, file, keyJson];
  const { stdout } = await run(process.execPath, args, { maxBuffer: MIB });
  return (JSON.parse(stdout) as { peakRssDeltaBytes: number }).peakRssDeltaBytes;
}

async function pythonPeak(file: string, keyJson: string): Promise<number> {
  const out = await runJwcrypto(['memory', keyJson, file]);
  return (JSON.parse(out.toString()) as { peakRssDeltaBytes: number }).peakRssDeltaBytes;
}

/** Child mode: decrypt once and print the peak RSS growth as JSON. */
async function measureMemory(impl: Impl, file: string, keyJson: string): Promise<void> {
  const compact = await readFile(file, 'latin1');
  const decrypt = await decryptorFor(impl, keyJson);
  // Warm-up on a small part: a running service has its code paths compiled; a large one would leave freed pages in RSS.
  await decrypt(await joseEncrypt(publicPart(JSON.parse(keyJson) as JWK), randomBytes(64 * 1024)));
  const gc = (globalThis as { gc?: () => void }).gc!;
  gc();
  await sleep(200); // lets V8 and the allocator return what reading the file left behind
  gc();
  const before = await statusBytes('VmRSS');
  await writeFile('/proc/self/clear_refs', '5'); // resets VmHWM to the current RSS
  const bytes = await decrypt(compact);
  process.stdout.write(JSON.stringify({ peakRssDeltaBytes: (await statusBytes('VmHWM')) - before, bytes }));
}

async function decryptorFor(impl: Impl, keyJson: string): Promise<(compact: string) => Promise<number>> {
  if (impl === 'decryptPart') {
    const ring = await loadKey({ json: JSON.stringify({ keys: [JSON.parse(keyJson)] }) }, INGEST_KEYS);
    return async (compact) => (await decryptPart(compact, ring)).plaintext.length;
  }
  const key = await importJWK(JSON.parse(keyJson) as JWK);
  return async (compact) => (await compactDecrypt(compact, key)).plaintext.length;
}

async function statusBytes(field: string): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)![1]) * 1024;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [mode, impl, file, keyJson] = process.argv.slice(2);
  if (mode === '--memory') await measureMemory(impl as Impl, file!, keyJson!);
  else console.log(JSON.stringify(await bench(), null, 2));
}
