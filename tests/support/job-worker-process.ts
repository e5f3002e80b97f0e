/**
 * A worker process for tests/reliability/job-takeover.test.ts: it runs the real job worker on the
 * database in DATABASE_URL with one handler of kind JOB_KIND that announces the job and never
 * finishes, so the test can kill the process while the job is leased to it.
 */
import { parseKekRing } from '../../src/keys/kek-ring.ts';
import { Jobs } from '../../src/jobs/worker.ts';
import { openMetadataStore } from '../../src/metadata/open.ts';

const env = process.env as Record<string, string>;
const store = await openMetadataStore({ databaseUrl: env.DATABASE_URL }, parseKekRing(env.STORAGE_KEYS!, 'STORAGE_KEYS'), parseKekRing(env.SEARCH_KEYS!, 'SEARCH_KEYS'));
const jobs = new Jobs(
  store.jobs,
  {
    [env.JOB_KIND!]: (job) => {
      process.stdout.write(`started ${job.id} ${job.attempt}\n`);
      return new Promise<void>(() => undefined);
    },
  },
  { holder: env.HOLDER!, leaseMs: Number(env.LEASE_MS), backoffMs: 1_000, maxBackoffMs: 60_000, maxAttempts: 5, concurrency: 1 },
);
jobs.start(50);
