/**
 * A throwaway PostgreSQL 15 server (Debian's postgresql-15) on loopback, for tests and benches:
 * initdb into a temp dir, `postgres` on a free port, trust authentication for one superuser, no
 * systemd. initdb refuses to run as root, so as root the server runs as the `postgres` user.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, closeSync, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './ceph-rgw.ts';

const BIN = '/usr/lib/postgresql/15/bin';
const SUPERUSER = 'vsc';

export interface PostgresServer {
  /** postgres://vsc@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  /** The data directory (for the marker scan) and log file live under here. */
  dir: string;
  dataDir: string;
  /** A fresh, empty database on this server; its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server (fast shutdown), keeping its data, e.g. to inject an outage. */
  stopServer(): Promise<void>;
  /** Starts it again on the same port and data. */
  startServer(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a server; fails naming the package when postgresql-15 is missing (scripts/system-deps.sh installs it). */
export async function startPostgres(): Promise<PostgresServer> {
  if (spawnSync(`${BIN}/initdb`, ['--version']).status !== 0) {
    throw new Error('PostgreSQL 15 is not installed; as root run: apt-get install -y --no-install-recommends postgresql-15');
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'vsc-pg-'));
  const dataDir = path.join(dir, 'data');
  const runAs = runAsPrefix(dir);
  const initdb = spawnSync(runAs[0] ?? `${BIN}/initdb`, [...runAs.slice(1), ...(runAs.length ? [`${BIN}/initdb`] : []), '-D', dataDir, '-U', SUPERUSER, '-A', 'trust', '-E', 'UTF8', '--no-sync'], {
    encoding: 'utf8',
  });
  if (initdb.status !== 0) throw new Error(`initdb failed (${initdb.status}): ${initdb.stderr}`);
  const port = await freePort();
  let server: ChildProcess | undefined;
  const logFile = path.join(dir, 'postgres.log');
  const start = async () => {
    const log = openSync(logFile, 'a');
    const args = ['-D', dataDir, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200'];
    server = spawn(runAs[0] ?? `${BIN}/postgres`, [...runAs.slice(1), ...(runAs.length ? [`${BIN}/postgres`] : []), ...args], { stdio: ['ignore', log, log] });
    closeSync(log);
    await waitUntilAccepting(port, server, logFile);
  };
  const stopServer = async () => {
    const running = server;
    server = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = once(running, 'exit');
    running.kill('SIGINT');
    await exited;
  };
  const killOnExit = () => server?.kill('SIGKILL');
  process.once('exit', killOnExit);
  await start();
  const url = `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`;
  let databases = 0;
  return {
    url,
    port,
    dir,
    dataDir,
    async createDatabase(name = `t${process.pid}_${Date.now()}_${databases++}`) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name}"`);
      } finally {
        await client.end();
      }
      return `postgres://${SUPERUSER}@127.0.0.1:${port}/${name}`;
    },
    stopServer,
    startServer: start,
    async stop() {
      process.off('exit', killOnExit);
      await stopServer();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** As root: run as `postgres` (setpriv keeps the environment and needs no login shell); the temp dir becomes theirs. */
function runAsPrefix(dir: string): string[] {
  if (process.getuid?.() !== 0) return [];
  const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gids = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (ids.status !== 0) throw new Error('running as root needs the `postgres` user (the postgresql-15 package creates it)');
  const uid = Number(ids.stdout.trim());
  const gid = Number(gids.stdout.trim());
  chownSync(dir, uid, gid);
  return ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--'];
}

async function waitUntilAccepting(port: number, server: ChildProcess, logFile: string): Promise<void> {
  const exited = once(server, 'exit').then(() => {
    throw new Error(`postgres exited before accepting connections; see ${logFile}`);
  });
  const ready = (async () => {
    for (;;) {
      const client = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, database: 'postgres' });
      try {
        await client.connect();
        await client.end();
        return;
      } catch {
        await client.end().catch(() => undefined);
        // Polling a starting server: the log line is not a reliable event across versions.
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  })();
  await Promise.race([ready, exited]);
  exited.catch(() => undefined);
}
