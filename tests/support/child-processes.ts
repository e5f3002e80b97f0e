/** This test process's own child processes, as the kernel sees them (ps, /proc): for tests that no helper outlives its task. */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

/** Our child processes running `name`, as pids. */
export function children(name: string): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)]).toString();
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([, comm]) => comm === name)
    .map(([pid]) => Number(pid));
}

/** R, S, D, Z …, or undefined once the process is gone (reaped). */
export function state(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[0];
  } catch {
    return undefined;
  }
}

/**
 * Each pid's state once none runs any more: undefined when reaped, 'Z' when left a zombie. A killed child of
 * this thread is a zombie until its event loop reaps it; a process of our own spawned after and reaped
 * proves the loop has reaped every child of its own that had ended.
 */
export async function endStates(pids: number[]): Promise<(string | undefined)[]> {
  while (pids.some((pid) => state(pid) !== undefined && state(pid) !== 'Z')) await sleep(100);
  await promisify(execFile)('true');
  return pids.map(state);
}
