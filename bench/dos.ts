/**
 * Latency under attack: /healthz and another user's capture while the attacks of tests/dos run
 * against the service as its own process (embedded store, the DoS suite's small limits). The
 * baseline is the same service without an attack, in the same run: there is no peer tool for this.
 * The attacks and the /healthz probe each run in a process of their own, so neither's event loop
 * delays the other's figures; the service's own event-loop delay comes from its /metrics.
 *
 *   npx tsx bench/dos.ts
 */
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { jpegWithMarker, newMarker } from '../testkit/capture-fixtures.ts';
import { clerk, devToken, encryptedCapture, ingestKey, postCapture } from '../testkit/service-client.ts';
import { startService, type ServiceProcess } from '../testkit/service-process.ts';
import { DOS_ENV } from '../testkit/dos-attacks.ts';
import { attackApart, type AttackName, type Outcomes } from '../testkit/attack-process.ts';
import { watchHealthApart } from '../testkit/healthz-probe.ts';
import { eventLoopDelaySinceLastScrape, type EventLoopDelay } from '../testkit/event-loop-delay.ts';
import { median, type BenchComparison, type BenchRow, type BenchSection } from '../testkit/bench-report.ts';

const PHASE_MS = 10_000;
/** Pause between /healthz probes: enough samples for a p99 per phase, without the probe loading the 2 cores itself. */
const PROBE_INTERVAL_MS = 5;
/** /healthz p99 under attack may be this many times its p99 without one. */
const HEALTHZ_RATIO_TARGET = 3;

interface Phase {
  name: string;
  healthzMs: number[];
  captureMs: number[];
  eventLoop: EventLoopDelay;
  /** CPU time the service used during the phase, all its threads (the victim's processing included). */
  serviceCpuS: number;
  outcomes: Outcomes;
}

const PHASES: Array<{ name: string; attack?: AttackName; expect?: RegExp }> = [
  { name: 'no attack' },
  { name: 'slow bodies: 6 trickling captures of one user, reopened when cut', attack: 'slow-bodies', expect: /^(408|503|closed)/ },
  { name: 'endless headers: 50 connections, reopened when closed', attack: 'endless-headers', expect: /^(408|closed)/ },
  { name: 'metadata bombs: 10 MB nested arrays as a file part, back to back', attack: 'metadata-bombs', expect: /^413 payload_too_large$/ },
];

/**
 * Starts `attack` (its own process), then for PHASE_MS probes /healthz (its own process) while a
 * victim captures back to back here; the service's event-loop histogram is reset at the start and read at the end.
 */
async function phase(service: ServiceProcess, name: string, victim: () => Promise<number>, attack: { name: AttackName; token: string } | undefined): Promise<Phase> {
  const attacking = attack ? await attackApart(attack.name, service.url, attack.token) : undefined;
  await eventLoopDelaySinceLastScrape(service.url);
  const cpuBefore = await service.cpuSeconds();
  const watch = await watchHealthApart(service.url, PROBE_INTERVAL_MS);
  const deadline = Date.now() + PHASE_MS;
  const captureMs: number[] = [];
  while (Date.now() < deadline) {
    const t0 = performance.now();
    const status = await victim();
    if (status !== 201) throw new Error(`${name}: the victim's capture answered ${status}`);
    captureMs.push(performance.now() - t0);
  }
  const { latenciesMs, failures } = await watch.stop();
  const eventLoop = await eventLoopDelaySinceLastScrape(service.url);
  const serviceCpuS = round((await service.cpuSeconds()) - cpuBefore);
  const outcomes = (await attacking?.stop()) ?? {};
  if (failures.length) throw new Error(`${name}: /healthz failed: ${failures.join('; ')}`);
  return { name, healthzMs: latenciesMs, captureMs, eventLoop, serviceCpuS, outcomes };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

const round = (value: number) => Math.round(value * 10) / 10;

const outcomeText = (outcomes: Outcomes) => Object.entries(outcomes).map(([answer, count]) => `${count} × ${answer}`).join(', ');

export async function bench(): Promise<BenchSection> {
  const service = await startService({ ...DOS_ENV, LOG_LEVEL: 'warn' });
  try {
    const key = await ingestKey(service.url);
    const attacker = await devToken(service.url, clerk('attacker'));
    const victimToken = await devToken(service.url, clerk('victim'));
    const photo = await jpegWithMarker(newMarker(), 1600, 1200);
    const victim = async () => (await postCapture(service.url, victimToken, await encryptedCapture(key, 'Messung', [photo]))).status;
    await victim(); // warm-up: the first capture loads the worker pool, and must not count as the baseline
    const phases: Phase[] = [];
    for (const { name, attack, expect } of PHASES) {
      const p = await phase(service, name, victim, attack ? { name: attack, token: attacker } : undefined);
      const unexpected = Object.keys(p.outcomes).filter((answer) => !expect?.test(answer));
      if (unexpected.length) throw new Error(`${name}: the attack got ${outcomeText(p.outcomes)}`);
      phases.push(p);
    }
    const base = phases[0]!;
    const rows: BenchRow[] = phases.flatMap((p): BenchRow[] => [
      {
        name: `GET /healthz (probe process) — ${p.name}`,
        medianMs: round(median(p.healthzMs)),
        runs: p.healthzMs.length,
        extra: { p99Ms: round(percentile(p.healthzMs, 99)), maxMs: round(Math.max(...p.healthzMs)), serviceLoopP99Ms: p.eventLoop.p99, serviceLoopMaxMs: p.eventLoop.max, serviceCpuS: p.serviceCpuS },
      },
      { name: `another user's capture (201) — ${p.name}`, medianMs: round(median(p.captureMs)), runs: p.captureMs.length, extra: { p99Ms: round(percentile(p.captureMs, 99)), maxMs: round(Math.max(...p.captureMs)) } },
    ]);
    const comparisons: BenchComparison[] = phases.slice(1).map((p) => {
      const ratio = round((percentile(p.healthzMs, 99) / Math.max(1, percentile(base.healthzMs, 99))) * 100) / 100;
      return {
        name: `/healthz p99 under "${p.name}" / without attack`,
        ratio,
        target: `<= ${HEALTHZ_RATIO_TARGET}.0`,
        met: ratio <= HEALTHZ_RATIO_TARGET,
        ...(ratio > HEALTHZ_RATIO_TARGET
          ? { note: `The service's event-loop delay p99 was ${p.eventLoop.p99} ms under this attack and ${base.eventLoop.p99} ms without (serviceLoopP99Ms; the 10 ms sampling interval included): compare them to tell the service's own delay from the 2 cores shared with the attack, probe and victim processes.` }
          : {}),
      };
    });
    return {
      title: 'Denial of service: latency while the attacks of tests/dos run',
      command: 'npx tsx bench/dos.ts',
      rows,
      comparisons,
      notes: [
        `Each phase ${PHASE_MS / 1000} s on one service process (embedded store; limits of testkit/dos-attacks.ts DOS_ENV: 4 slots, 2 per user, 1 KiB/s minimum body rate over 1 s windows, 2 s header timeout).`,
        `Three more processes share the machine's cores with it: the attack (testkit/attack-process.ts; the bomb's 10 MB body is built once, before the phase starts), the /healthz probe (testkit/healthz-probe.ts, one request every ${PROBE_INTERVAL_MS} ms after the previous answer) and this benchmark, which runs the victim.`,
        "serviceLoopP99Ms / serviceLoopMaxMs: the service's event-loop delay during the phase, from its /metrics (nodejs_eventloop_lag_p99_seconds and _max_seconds: prom-client's perf_hooks.monitorEventLoopDelay histogram, 10 ms resolution, reset at the phase's start). A loop that never waits reads about 10 ms: the sampling interval is part of each figure. serviceCpuS: the service process's CPU time during the phase, all threads (/proc utime + stime; the victim's processing included).",
        `What the attacks got: ${phases.slice(1).map((p) => `${p.name.split(':')[0]}: ${outcomeText(p.outcomes)}`).join('; ')}.`,
        'The victim is another user capturing a 1600 × 1200 photo as JWE back to back; every victim capture answered 201 and every /healthz probe 200 (the bench fails otherwise).',
        'Ratios are against the same service without an attack, measured in the same run; there is no peer tool to compare with.',
        `Load average at the end: ${loadavg().map(round).join(' / ')}.`,
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
