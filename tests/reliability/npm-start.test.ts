/**
 * `npm start` as the README tells a newcomer to run it: stopping it, with Ctrl+C in the terminal
 * (SIGINT to the foreground process group) or with SIGTERM to npm's PID, stops the service itself.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** The parent of every process on the machine, from /proc. */
async function parents(): Promise<Map<number, number>> {
  const map = new Map<number, number>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => undefined);
    // The command name in parentheses may hold spaces: the parent pid follows its closing one.
    if (stat) map.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
  }
  return map;
}

async function descendants(root: number): Promise<number[]> {
  const ppid = await parents();
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const [child, parent] of ppid) {
      if (parent !== pid) continue;
      found.push(child);
      walk(child);
    }
  };
  walk(root);
  return found;
}

const alive = (pid: number) => readFile(`/proc/${pid}/stat`, 'utf8').then(
  (stat) => !/^\d+ \(.*\) Z/s.test(stat),
  () => false,
);

/** Resolves once every process ended; one that outlives npm keeps it waiting until the test times out and fails. */
async function allEnded(pids: number[]): Promise<void> {
  while ((await Promise.all(pids.map(alive))).some(Boolean)) await new Promise((r) => setTimeout(r, 50));
}

describe('npm start', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0)) await step();
  });

  async function start() {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'vsc-npm-start-'));
    // Its own process group, as a terminal gives a foreground job.
    const npm = spawn('npm', ['start'], {
      cwd: REPO,
      detached: true,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(npm, 'exit');
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        const match = /VS-Capture listening on (\S+)/.exec(output);
        if (match) resolve(match[1]!);
      };
      npm.stdout.on('data', onData);
      npm.stderr.on('data', onData);
      npm.once('exit', () => reject(new Error(`npm start ended before listening:\n${output}`)));
    });
    const service = await descendants(npm.pid!);
    cleanup.push(async () => {
      for (const pid of [npm.pid!, ...service]) if (await alive(pid)) process.kill(pid, 'SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    });
    expect(service.length).toBeGreaterThan(0);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    return { npm, exited, url, service };
  }

  it('stops the service when npm gets SIGTERM', async () => {
    const { npm, exited, url, service } = await start();
    process.kill(npm.pid!, 'SIGTERM');
    await exited;
    await allEnded(service);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it('stops the service on Ctrl+C (SIGINT to the process group)', async () => {
    const { npm, exited, url, service } = await start();
    process.kill(-npm.pid!, 'SIGINT');
    await exited;
    await allEnded(service);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
