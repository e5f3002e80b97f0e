/**
 * SIGKILL of an instance while it runs a job: the job's lease runs out and another instance takes
 * it over and finishes it (a worker process on a real PostgreSQL, killed for real).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KekRing } from '../../src/keys/kek-ring.ts';
import { Jobs } from '../../src/jobs/worker.ts';
import type { ClaimedJob } from '../../src/metadata/job-store.ts';
import { freshMetadataStore, type TestMetadata } from '../../testkit/database.ts';

const ringJson = (ring: KekRing) => JSON.stringify({ keys: ring.ids.map((id) => ({ id, key: ring.find(id)!.key.toString('base64') })) });

describe('a job whose instance is killed', () => {
  let t: TestMetadata;
  beforeAll(async () => {
    t = await freshMetadataStore('PostgreSQL');
  });
  afterAll(() => t.store.close());

  it('is taken over by another instance once its lease ran out, and finished there', async () => {
    const kind = `test.takeover.${ulid()}`;
    const documentId = ulid();
    const id = await t.store.jobs.enqueue({ kind, documentId, payload: { seite: 1 }, maxAttempts: 5, runAt: Date.now() }, Date.now());
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/support/job-worker-process.ts'], {
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: t.source.databaseUrl!,
        STORAGE_KEYS: ringJson(t.keys),
        SEARCH_KEYS: ringJson(t.searchKeys),
        JOB_KIND: kind,
        HOLDER: 'doomed',
        LEASE_MS: '1500',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit');
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (output.includes(`started ${id} 1`)) resolve();
      });
      child.on('exit', (code) => reject(new Error(`worker exited (${code}) before it started the job: ${output}`)));
    });
    expect(await t.store.jobs.state(id)).toMatchObject({ state: 'running', holder: 'doomed', attempts: 1 });
    child.kill('SIGKILL');
    await exited;

    let finished!: (job: ClaimedJob) => void;
    const ran = new Promise<ClaimedJob>((resolve) => (finished = resolve));
    const survivor = new Jobs(t.store.jobs, { [kind]: async (job) => finished(job) }, { holder: 'survivor', leaseMs: 60_000, backoffMs: 1_000, maxBackoffMs: 60_000, maxAttempts: 5, concurrency: 1 });
    survivor.start(50);
    const job = await ran;
    await survivor.stop();
    expect(job).toMatchObject({ id, documentId, payload: { seite: 1 }, attempt: 2 });
    expect(await t.store.jobs.state(id)).toMatchObject({ state: 'done', holder: 'survivor', attempts: 2 });
  });
});
