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
  /** False where the run could not measure it (a difference of medians at or below zero): no verdict, no ratio. */
  measured?: boolean;
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

function ms(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

export function cell(value: string | number): string {
  return String(value).replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** Two decimals, a third where there is one (0.253 must not read as a met 0.25). */
function ratioText(ratio: number): string {
  const rounded = ratio.toFixed(3);
  return rounded.endsWith('0') ? ratio.toFixed(2) : rounded;
}

export function comparisonRow(c: BenchComparison): string {
  if (c.measured === false) return `| ${cell(c.name)} | – | ${cell(c.target)} | no verdict (not measurable in this run) |`;
  return `| ${cell(c.name)} | ${ratioText(c.ratio)} | ${cell(c.target)} | ${c.met ? 'met' : '**missed**'} |`;
}

/** One section as docs/BENCHMARKS.md shows it. */
export function sectionMarkdown(section: BenchSection, seconds: number): string {
  const extras = [...new Set(section.rows.flatMap((r) => Object.keys(r.extra ?? {})))];
  const lines = [
    `## ${section.title}`,
    '',
    `Rerun alone: \`${section.command}\` (this section took ${seconds.toFixed(0)} s).`,
    '',
    `| Measurement | Median ms | Runs |${extras.map((e) => ` ${e} |`).join('')}`,
    `|---|---:|---:|${extras.map(() => '---:|').join('')}`,
    ...section.rows.map((r) => `| ${cell(r.name)} | ${ms(r.medianMs)} | ${r.runs} |${extras.map((e) => ` ${cell(r.extra?.[e] ?? '')} |`).join('')}`),
    '',
  ];
  if (section.comparisons.length > 0) {
    lines.push('| Comparison | Ratio | Target | Result |', '|---|---:|---|---|', ...section.comparisons.map(comparisonRow), '');
  }
  const missed = section.comparisons.filter((c) => !c.met);
  if (missed.length > 0) {
    const ratio = (c: BenchComparison): string => (c.measured === false ? 'no verdict' : ratioText(c.ratio));
    lines.push('Missed targets, why, and what would close the gap:', '', ...missed.map((c) => `- **${c.name}** (${ratio(c)}, target ${c.target}): ${c.note ?? 'no explanation given by the section'}`), '');
  }
  if (section.notes?.length) lines.push('Notes:', '', ...section.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}

