/** The shape every benchmark returns; bench/run.ts turns them into docs/BENCHMARKS.md. */

export interface BenchRow {
  /** What was measured, e.g. "mark 100 pages — VS-Capture". */
  name: string;
  /** Median wall time in milliseconds over `runs`. */
  medianMs: number;
  runs: number;
  /** Extra measured columns, e.g. { peakRssMiB: 312 }. */
  extra?: Record<string, number | string>;
}

export interface BenchComparison {
  /** e.g. "mark 100 pages: VS-Capture / qpdf". */
  name: string;
  ratio: number;
  /** The target as text, e.g. "< 1.0". */
  target: string;
  met: boolean;
  /** Where a target is missed: why, and what would close the gap. */
  note?: string;
}

export interface BenchSection {
  title: string;
  /** How to rerun just this section. */
  command: string;
  rows: BenchRow[];
  comparisons: BenchComparison[];
  notes?: string[];
}

/** Median of a non-empty list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `fn` `warmup` times unmeasured, then `runs` times; returns the median in ms. */
export async function timeMedian(fn: () => Promise<unknown>, runs: number, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}
