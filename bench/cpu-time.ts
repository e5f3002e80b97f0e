/**
 * CPU time of a piece of work: this process (all its threads) plus the children it waited for (and
 * theirs), as Linux accounts them in /proc/self/stat. Other engineers' load on a shared machine
 * stretches wall time far more than CPU time, so per-core comparisons use this.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { median } from '../testkit/bench-report.ts';

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** CPU milliseconds used so far by this process and by its reaped children. */
export function cpuSoFar(): { self: number; children: number } {
  // Fields after the command's closing parenthesis: cutime and cstime are the 14th and 15th.
  const stat = readFileSync('/proc/self/stat', 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const usage = process.cpuUsage();
  return { self: (usage.user + usage.system) / 1000, children: ((Number(fields[13]) + Number(fields[14])) * 1000) / ticksPerSecond };
}

export interface CpuMedian {
  /** Median wall time in ms. */
  wallMs: number;
  /** Median CPU time in ms, this process and its children. */
  cpuMs: number;
  /** Median CPU time of the children alone. */
  childrenMs: number;
}

/** Runs `fn` `warmup` times unmeasured, then `runs` times; medians of wall and CPU time. */
export async function cpuMedian(fn: () => Promise<unknown>, runs: number, warmup = 1): Promise<CpuMedian> {
  for (let i = 0; i < warmup; i++) await fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  const children: number[] = [];
  for (let i = 0; i < runs; i++) {
    const [before, t0] = [cpuSoFar(), performance.now()];
    await fn();
    const [after, t1] = [cpuSoFar(), performance.now()];
    wall.push(t1 - t0);
    cpu.push(after.self - before.self + after.children - before.children);
    children.push(after.children - before.children);
  }
  return { wallMs: median(wall), cpuMs: median(cpu), childrenMs: median(children) };
}
