/**
 * A throwaway single-node Ceph cluster with a RADOS Gateway on loopback, for tests and benches:
 * one monitor, one memstore OSD, radosgw (beast), cephx off, every file under one temp dir.
 * STACK.md ("S3-compatible storage without Docker") explains each setting.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const CEPH_PACKAGES = ['radosgw', 'ceph-mon', 'ceph-osd'] as const;
const CEPH_COMMANDS = ['ceph', 'ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'monmaptool'];
const RGW_NAME = 'client.rgw.gw';

export interface CephRgw {
  /** e.g. http://127.0.0.1:41234 */
  endpoint: string;
  port: number;
  region: string;
  accessKey: string;
  secretKey: string;
  /** The cluster's temp dir: config, logs (log/), daemon data. */
  dir: string;
  /** Stops only the gateway (the cluster keeps running), e.g. to inject a storage outage. */
  stopGateway(): Promise<void>;
  /** Starts the gateway again on the same port and waits until it answers. */
  startGateway(): Promise<void>;
  /** Stops every daemon and removes the temp dir. */
  stop(): Promise<void>;
}

interface Daemon {
  name: string;
  process: ChildProcess;
  exited: Promise<void>;
}

/** Installs the Debian packages when missing (root only), else fails naming them. */
export function ensureCephPackages(): void {
  const missing = CEPH_COMMANDS.filter((cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0);
  if (missing.length === 0) return;
  const install = `apt-get install -y --no-install-recommends ${CEPH_PACKAGES.join(' ')}`;
  if (process.getuid?.() !== 0 || spawnSync('sh', ['-c', 'command -v apt-get']).status !== 0) {
    throw new Error(`Ceph is not installed (missing ${missing.join(', ')}); as root run: apt-get update && ${install}`);
  }
  console.error(`[ceph-rgw] installing ${CEPH_PACKAGES.join(' ')} (about 35 s)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const command of ['apt-get update', install]) {
    const result = spawnSync('sh', ['-c', command], { stdio: 'inherit', env });
    if (result.status !== 0) throw new Error(`"${command}" failed (exit ${result.status}); Ceph's packages are needed: ${CEPH_PACKAGES.join(', ')}`);
  }
}

export async function startCephRgw(): Promise<CephRgw> {
  ensureCephPackages();
  const dir = await mkdtemp(path.join(tmpdir(), 'vsc-ceph-'));
  const cluster = new Cluster(dir);
  try {
    return await cluster.start();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

class Cluster {
  private readonly conf: string;
  private readonly daemons = new Map<string, Daemon>();
  private readonly killOnExit = () => this.daemons.forEach((d) => d.process.kill('SIGKILL'));
  private rgwPort = 0;

  constructor(readonly dir: string) {
    this.conf = path.join(dir, 'ceph.conf');
  }

  async start(): Promise<CephRgw> {
    const began = Date.now();
    process.once('exit', this.killOnExit);
    const fsid = randomUUID();
    const monPort = await freePort();
    this.rgwPort = await freePort();
    for (const sub of ['run', 'log', 'mon/ceph-a', 'osd/ceph-0', 'rgw']) await mkdir(path.join(this.dir, sub), { recursive: true });
    await writeFile(this.conf, cephConf(this.dir, fsid, monPort, this.rgwPort));

    await this.run('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, path.join(this.dir, 'monmap')]);
    await this.run('ceph-mon', ['-c', this.conf, '--mkfs', '-i', 'a', '--monmap', path.join(this.dir, 'monmap')]);
    this.spawnDaemon('mon.a', 'ceph-mon', ['-c', this.conf, '-i', 'a', '-f']);
    await this.waitFor('the monitor to form a quorum', 'mon.a', 30_000, async () => {
      await this.ceph(['mon', 'stat']);
      return true;
    });

    const osdUuid = randomUUID();
    const osdId = (await this.ceph(['osd', 'new', osdUuid])).trim();
    // --osd-uuid must match `osd new`, or the OSD never comes up.
    await this.run('ceph-osd', ['-c', this.conf, '-i', osdId, '--mkfs', '--osd-uuid', osdUuid]);
    this.spawnDaemon(`osd.${osdId}`, 'ceph-osd', ['-c', this.conf, '-i', osdId, '-f']);
    await this.waitFor('the OSD to be up', `osd.${osdId}`, 60_000, async () => {
      const dump = JSON.parse(await this.ceph(['osd', 'dump', '-f', 'json'])) as { osds: { up: number }[] };
      return dump.osds[0]?.up === 1;
    });

    await this.startGateway();
    const accessKey = `VSC${randomBytes(10).toString('hex').toUpperCase()}`;
    const secretKey = randomBytes(30).toString('base64url');
    await this.run('radosgw-admin', ['-c', this.conf, 'user', 'create', '--uid=vs-capture-test', '--display-name=VS-Capture tests', `--access-key=${accessKey}`, `--secret-key=${secretKey}`]);
    console.error(`[ceph-rgw] up at 127.0.0.1:${this.rgwPort} in ${((Date.now() - began) / 1000).toFixed(1)} s (logs in ${this.dir}/log)`);

    return {
      endpoint: `http://127.0.0.1:${this.rgwPort}`,
      port: this.rgwPort,
      region: 'us-east-1',
      accessKey,
      secretKey,
      dir: this.dir,
      stopGateway: () => this.stopDaemon(RGW_NAME, 'SIGTERM'),
      startGateway: () => this.startGateway(),
      stop: () => this.stop(),
    };
  }

  async startGateway(): Promise<void> {
    if (this.daemons.has(RGW_NAME)) return;
    this.spawnDaemon(RGW_NAME, 'radosgw', ['-c', this.conf, '-n', RGW_NAME, '-f']);
    await this.waitFor('the gateway to answer HTTP', RGW_NAME, 60_000, async () => {
      const res = await fetch(`http://127.0.0.1:${this.rgwPort}/`, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      return true;
    });
  }

  /** Gateway first (it hangs without its cluster), then the OSD (SIGKILL: it ignores SIGTERM for seconds), then the monitor. */
  async stop(): Promise<void> {
    await this.stopDaemon(RGW_NAME, 'SIGTERM');
    for (const name of [...this.daemons.keys()].filter((n) => n.startsWith('osd.'))) await this.stopDaemon(name, 'SIGKILL');
    await this.stopDaemon('mon.a', 'SIGTERM');
    process.removeListener('exit', this.killOnExit);
    await rm(this.dir, { recursive: true, force: true });
  }

  private async stopDaemon(name: string, signal: NodeJS.Signals): Promise<void> {
    const daemon = this.daemons.get(name);
    if (!daemon) return;
    daemon.process.kill(signal);
    const graceful = await Promise.race([daemon.exited.then(() => true), sleep(3000).then(() => false)]);
    if (!graceful) {
      daemon.process.kill('SIGKILL');
      await daemon.exited;
    }
    this.daemons.delete(name);
  }

  private spawnDaemon(name: string, command: string, args: string[]): void {
    // Every daemon writes to a file: a pipe nobody reads would block it.
    const out = openSync(this.logFile(name, 'out'), 'a');
    const child = spawn(command, args, { stdio: ['ignore', out, out] });
    closeSync(out);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.daemons.set(name, { name, process: child, exited });
  }

  /** Polls `ready` every 250 ms until true or `timeoutMs`; fails early if the daemon exits, with its log tail. */
  private async waitFor(what: string, daemonName: string, timeoutMs: number, ready: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      const daemon = this.daemons.get(daemonName);
      if (daemon && daemon.process.exitCode !== null) {
        throw new Error(`${daemonName} exited with ${daemon.process.exitCode} while waiting for ${what}\n${await this.logTail(daemonName)}`);
      }
      lastError = undefined;
      const ok = await ready().catch((err: unknown) => {
        lastError = err;
        return false;
      });
      if (ok) return;
      if (Date.now() > deadline) {
        const why = lastError instanceof Error ? ` (last error: ${lastError.message.trim()})` : '';
        throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${why}\n${await this.logTail(daemonName)}`);
      }
      await sleep(250);
    }
  }

  private async logTail(name: string): Promise<string> {
    const tails = await Promise.all(
      (['out', 'log'] as const).map(async (kind) => {
        const file = this.logFile(name, kind);
        const text = await readFile(file, 'utf8').catch(() => '(no file)');
        return `--- ${file} (last 30 lines) ---\n${text.trimEnd().split('\n').slice(-30).join('\n')}`;
      }),
    );
    return tails.join('\n');
  }

  private logFile(name: string, kind: 'out' | 'log'): string {
    return path.join(this.dir, 'log', `${name}.${kind}`);
  }

  private ceph(args: string[]): Promise<string> {
    return this.run('ceph', ['-c', this.conf, '--connect-timeout', '5', ...args]);
  }

  private async run(command: string, args: string[]): Promise<string> {
    try {
      const { stdout } = await execFileAsync(command, args, { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 });
      return stdout;
    } catch (err) {
      const { stderr = '', message } = err as { stderr?: string; message: string };
      throw new Error(`${command} ${args.join(' ')} failed: ${message}\n${stderr.trim().split('\n').slice(-20).join('\n')}`);
    }
  }
}

function cephConf(dir: string, fsid: string, monPort: number, rgwPort: number): string {
  return `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monPort}
# cephx off inside this throwaway cluster; radosgw then also needs every ms mode = crc.
auth cluster required = none
auth service required = none
auth client required = none
ms cluster mode = crc
ms service mode = crc
ms client mode = crc
ms mon cluster mode = crc
ms mon service mode = crc
ms mon client mode = crc
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
paxos propose interval = 0.1
run dir = ${dir}/run
admin socket = ${dir}/run/$name.$pid.asok
pid file = ${dir}/run/$name.pid
log file = ${dir}/log/$name.log
mon data = ${dir}/mon/$cluster-$id
osd data = ${dir}/osd/$cluster-$id
osd objectstore = memstore
memstore device bytes = 8589934592

[${RGW_NAME}]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort} tcp_nodelay=1
rgw data = ${dir}/rgw
`;
}

/** A port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
