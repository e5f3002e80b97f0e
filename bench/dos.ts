/**
 * Latency under attack: /healthz and another user's capture while the attacks of tests/dos run
 * against the service as its own process (embedded store, the DoS suite's small limits). The
 * baseline is the same service without an attack, in the same run: there is no peer tool for this.
 *
 *   npx tsx bench/dos.ts
 */
import { pathToFileURL } from 'node:url';
import { jpegWithMarker, newMarker } from '../testkit/capture-fixtures.ts';
import { clerk, devToken, encryptedCapture, ingestKey, postCapture } from '../testkit/service-client.ts';
import { startService, type ServiceProcess } from '../testkit/service-process.ts';
import { DOS_ENV, endlessHeaders, slowCapture, watchHealth } from '../testkit/dos-attacks.ts';
import { median, type BenchComparison, type BenchRow, type BenchSection } from '../testkit/bench-report.ts';

const PHASE_MS = 10_000;
/** /healthz p99 under attack may be this many times its p99 without one. */
const HEALTHZ_RATIO_TARGET = 3;

interface Phase {
  name: string;
  healthzMs: number[];
  captureMs: number[];
}

/** Runs `attack` for PHASE_MS while /healthz is probed and a victim captures back to back. */
async function phase(service: ServiceProcess, name: string, victim: () => Promise<number>, attack: (until: () => boolean) => Promise<unknown>): Promise<Phase> {
  const deadline = Date.now() + PHASE_MS;
  const going = () => Date.now() < deadline;
  const watch = watchHealth(service.url);
  const captureMs: number[] = [];
  await Promise.all([
    attack(going),
    (async () => {
      while (going()) {
        const t0 = performance.now();
        const status = await victim();
        if (status !== 201) throw new Error(`${name}: the victim's capture answered ${status}`);
        captureMs.push(performance.now() - t0);
      }
    })(),
  ]);
  const { latenciesMs, failures } = await watch.stop();
  if (failures.length) throw new Error(`${name}: /healthz failed: ${failures.join('; ')}`);
  return { name, healthzMs: latenciesMs, captureMs };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

const round = (value: number) => Math.round(value * 10) / 10;

export async function bench(): Promise<BenchSection> {
  const service = await startService({ ...DOS_ENV, LOG_LEVEL: 'warn' });
  try {
    const key = await ingestKey(service.url);
    const attacker = await devToken(service.url, clerk('attacker'));
    const victimToken = await devToken(service.url, clerk('victim'));
    const photo = await jpegWithMarker(newMarker(), 1600, 1200);
    const victim = async () => (await postCapture(service.url, victimToken, await encryptedCapture(key, 'Messung', [photo]))).status;
    const repeat = (open: () => Promise<unknown>) => async (going: () => boolean) => {
      while (going()) await open();
    };
    const metadataBomb = async () => {
      const form = new FormData();
      form.append('metadata', new Blob(['['.repeat(5_000_000) + ']'.repeat(5_000_000)], { type: 'application/json' }), 'metadata.json');
      form.append('file', new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }), 'a.jpg');
      await (await fetch(`${service.url}/v1/documents`, { method: 'POST', headers: { authorization: `Bearer ${attacker}` }, body: form })).arrayBuffer();
    };
    await victim(); // warm-up: the first capture loads the worker pool, and must not count as the baseline
    const phases = [
      await phase(service, 'no attack', victim, async () => undefined),
      await phase(service, 'slow bodies: 6 trickling captures of one user, reopened when cut', victim, (going) =>
        Promise.all(Array.from({ length: 6 }, () => repeat(() => slowCapture(service.url, attacker, { length: 2 ** 20, bytesPerSecond: 200 }).answer)(going))),
      ),
      await phase(service, 'endless headers: 50 connections, reopened when closed', victim, (going) => Promise.all(Array.from({ length: 50 }, () => repeat(() => endlessHeaders(service.url))(going)))),
      await phase(service, 'metadata bombs: 10 MB nested arrays as a file part, back to back', victim, repeat(metadataBomb)),
    ];
    const base = phases[0]!;
    const rows: BenchRow[] = phases.flatMap((p) => [
      { name: `GET /healthz — ${p.name}`, medianMs: round(median(p.healthzMs)), runs: p.healthzMs.length, extra: { p99Ms: round(percentile(p.healthzMs, 99)), maxMs: round(Math.max(...p.healthzMs)) } },
      { name: `another user's capture (201) — ${p.name}`, medianMs: round(median(p.captureMs)), runs: p.captureMs.length, extra: { p99Ms: round(percentile(p.captureMs, 99)), maxMs: round(Math.max(...p.captureMs)) } },
    ]);
    const comparisons: BenchComparison[] = phases.slice(1).map((p) => {
      const ratio = round(percentile(p.healthzMs, 99) / Math.max(1, percentile(base.healthzMs, 99)) * 100) / 100;
      return {
        name: `/healthz p99 under "${p.name}" / without attack`,
        ratio,
        target: `<= ${HEALTHZ_RATIO_TARGET}.0`,
        met: ratio <= HEALTHZ_RATIO_TARGET,
        ...(ratio > HEALTHZ_RATIO_TARGET ? { note: 'The event loop shares 2 cores with the attack clients, the victim client and the worker pool in this run; measure with the clients on another machine before reading it as the service alone.' } : {}),
      };
    });
    return {
      title: 'Denial of service: latency while the attacks of tests/dos run',
      command: 'npx tsx bench/dos.ts',
      rows,
      comparisons,
      notes: [
        `Each phase ${PHASE_MS / 1000} s on one service process (embedded store; limits of testkit/dos-attacks.ts DOS_ENV: 4 slots, 2 per user, 1 KiB/s minimum body rate over 1 s windows, 2 s header timeout). Attack clients, the victim and the /healthz probe run in this one benchmark process.`,
        'The victim is another user capturing a 1600 × 1200 photo as JWE back to back; every victim capture answered 201 and every /healthz probe 200 (the bench fails otherwise).',
        'Ratios are against the same service without an attack, measured in the same run; there is no peer tool to compare with.',
      ],
    };
  } finally {
    await service.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { sectionMarkdown } = await import('../testkit/bench-report.ts');
  const t0 = performance.now();
  const section = await bench();
  process.stdout.write(`${sectionMarkdown(section, (performance.now() - t0) / 1000)}\n`);
}
