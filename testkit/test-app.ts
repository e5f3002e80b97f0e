import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Express } from 'express';
import { createApp, type AppDeps } from '../src/app.ts';
import { compose, type ComposeOptions } from '../src/compose.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/kernel/logger.ts';
import type { DevTokenRequest } from '../src/auth/dev-issuer.ts';
import { HEADER_BYTES } from '../src/crypto/at-rest.ts';
import { freshDatabaseUrl, type MetadataBackend } from './database.ts';

export interface TestApp {
  app: Express;
  deps: AppDeps;
  /** Holds only ciphertext and generated keys; removed by close(). */
  dataDir: string;
  /** The metadata database on the run's PostgreSQL server; undefined on PGlite (inside dataDir). */
  databaseUrl: string | undefined;
  /** Every log line the app wrote, for checks that logs carry no document data. */
  logs: string[];
  token(request: Partial<DevTokenRequest> & { sub: string }): Promise<string>;
  close(): Promise<void>;
}

export interface TestAppOptions extends ComposeOptions {
  /** Share another app's data directory (its store and generated keys) and database, as a second instance would; not removed by close(). */
  sharing?: Pick<TestApp, 'dataDir' | 'databaseUrl'>;
  /** Where the metadata lives: a fresh database on the run's PostgreSQL server (default), or PGlite in the data directory. */
  metadata?: MetadataBackend;
}

/** The real app (encrypted store, metadata database, processing pool, dev issuer) on a fresh data directory. */
export async function startTestApp(env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = options.sharing?.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'vsc-test-')));
  const databaseUrl = options.metadata === 'PGlite' ? undefined : options.sharing ? options.sharing.databaseUrl : await freshDatabaseUrl();
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    // OCR jobs only where a test is about them: elsewhere they would only load the machine.
    OCR: 'off',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const { deps, close } = await compose(config, createLogger(config.logLevel, sink), options);
  return {
    app: createApp(deps),
    deps,
    dataDir,
    databaseUrl,
    logs,
    async token(request) {
      if (!deps.devIssuer) throw new Error('test app has no dev issuer');
      const issued = await deps.devIssuer.issue({ roles: [], units: [], ...request });
      return issued.access_token;
    },
    async close() {
      await close();
      if (!options.sharing) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Flips one ciphertext byte of a stored object in the app's filesystem store, so its integrity check fails. */
export async function flipStoredByte(t: Pick<TestApp, 'dataDir'>, key: string): Promise<void> {
  const file = await open(path.join(t.dataDir, 'objects', ...key.split('/')) + '~', 'r+');
  try {
    const byte = Buffer.alloc(1);
    await file.read(byte, 0, 1, HEADER_BYTES + 3);
    await file.write(Buffer.from([byte[0]! ^ 0xff]), 0, 1, HEADER_BYTES + 3);
  } finally {
    await file.close();
  }
}
