/** `npm run jobs` on the configured database: what an operator sees of the queue. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeStorage, type Storage } from '../../src/compose.ts';
import { loadConfig } from '../../src/config.ts';
import { freshDatabaseUrl } from '../../testkit/database.ts';

const run = promisify(execFile);

describe('npm run jobs', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let storage: Storage;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'vsc-jobs-'));
    env = { NODE_ENV: 'test', DATA_DIR: dataDir, DATABASE_URL: await freshDatabaseUrl() };
    storage = await composeStorage(loadConfig(env));
  });
  afterAll(async () => {
    await storage.metadata.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('prints the counts per kind and state', async () => {
    const now = Date.now();
    for (let i = 0; i < 2; i++) await storage.metadata.jobs.enqueue({ kind: 'test.cli', payload: { i }, maxAttempts: 1, runAt: now }, now);
    const [claimed] = await storage.metadata.jobs.claim(['test.cli'], 'op', now, 60_000, 1);
    await storage.metadata.jobs.fail(claimed!.id, 'op', 'StorageUnavailableError', now, 0);
    const { stdout } = await run('npm', ['run', '--silent', 'jobs'], { env: { ...process.env, ...env } });
    expect(JSON.parse(stdout)).toEqual({
      jobs: [
        { kind: 'test.cli', state: 'failed', count: 1 },
        { kind: 'test.cli', state: 'queued', count: 1 },
      ],
    });
  });
});
