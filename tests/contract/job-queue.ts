/**
 * The job queue's conformance suite on both backends (run from the metadata contract files): one
 * claimer per job under concurrent claims (SKIP LOCKED), leases taken over once they ran out,
 * retries after a doubling backoff, failure after the last attempt (and giving up one taken over after it), sealed payloads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ulid } from 'ulid';
import { Jobs, type JobHandler } from '../../src/jobs/worker.ts';
import { freshMetadataStore, type MetadataBackend, type TestMetadata } from '../../testkit/database.ts';

const T0 = Date.parse('2026-03-02T09:00:00Z');

export function describeJobQueueContract(backend: MetadataBackend): void {
  describe(`job queue on ${backend}`, () => {
    let t: TestMetadata;
    beforeAll(async () => {
      t = await freshMetadataStore(backend);
    });
    afterAll(() => t.store.close());

    it('gives each job to exactly one of many concurrent claimers, oldest first, with its payload', async () => {
      const kind = `k-${ulid()}`;
      const ids: number[] = [];
      for (let i = 0; i < 12; i++) ids.push(await t.store.jobs.enqueue({ kind, documentId: ulid(), payload: { n: i }, maxAttempts: 3, runAt: T0 }, T0));
      const claims = await Promise.all(Array.from({ length: 6 }, (_, i) => t.store.jobs.claim([kind], `h${i}`, T0, 60_000, 3)));
      const taken = claims.flat();
      expect(taken.map((j) => j.id).sort((a, b) => a - b)).toEqual(ids);
      expect(new Set(taken.map((j) => j.id)).size).toBe(12);
      expect(taken.find((j) => j.id === ids[4])!.payload).toEqual({ n: 4 });
      expect(await t.store.jobs.claim([kind], 'late', T0, 60_000, 10)).toEqual([]);
    });

    it('takes over a job whose lease ran out, and its old holder can no longer finish it', async () => {
      const kind = `k-${ulid()}`;
      const id = await t.store.jobs.enqueue({ kind, payload: null, maxAttempts: 3, runAt: T0 }, T0);
      expect((await t.store.jobs.claim([kind], 'dead', T0, 1_000, 1)).map((j) => j.id)).toEqual([id]);
      expect(await t.store.jobs.claim([kind], 'other', T0 + 999, 1_000, 1)).toEqual([]);
      const [again] = await t.store.jobs.claim([kind], 'other', T0 + 1_000, 1_000, 1);
      expect(again).toMatchObject({ id, attempt: 2 });
      expect(await t.store.jobs.complete(id, 'dead', T0 + 1_001)).toBe(false);
      expect(await t.store.jobs.renew(id, 'other', T0 + 1_500, 1_000)).toBe(true);
      expect(await t.store.jobs.claim([kind], 'third', T0 + 2_000, 1_000, 1)).toEqual([]);
      expect(await t.store.jobs.complete(id, 'other', T0 + 2_001)).toBe(true);
      expect(await t.store.jobs.state(id)).toMatchObject({ state: 'done', attempts: 2, holder: 'other' });
    });

    it('retries a failing handler after a doubling backoff and fails the job after its last attempt', async () => {
      const kind = `k-${ulid()}`;
      const clock = { now: T0 };
      const runs: number[] = [];
      const failing: JobHandler = async () => {
        runs.push(clock.now);
        throw new RangeError('kaputt');
      };
      // A fresh worker per step, as after a restart: only the database carries the retry schedule.
      const worker = () => new Jobs(t.store.jobs, { [kind]: failing }, { holder: 'w', leaseMs: 60_000, backoffMs: 1_000, maxBackoffMs: 10_000, maxAttempts: 3, concurrency: 2, now: () => clock.now });
      const jobs = worker();
      const id = await jobs.enqueue(kind, ulid(), { x: 1 });
      await jobs.stop();
      expect(runs).toEqual([T0]);
      expect(await t.store.jobs.state(id)).toMatchObject({ state: 'queued', attempts: 1, lastError: 'RangeError' });
      const again = worker();
      clock.now = T0 + 999;
      expect(await again.tick()).toBe(0);
      clock.now = T0 + 1_000;
      expect(await again.tick()).toBe(1);
      await again.stop();
      // Second failure: twice the delay.
      const third = worker();
      clock.now = T0 + 2_999;
      expect(await third.tick()).toBe(0);
      clock.now = T0 + 3_000;
      expect(await third.tick()).toBe(1);
      await third.stop();
      expect(runs).toEqual([T0, T0 + 1_000, T0 + 3_000]);
      expect(await t.store.jobs.state(id)).toMatchObject({ state: 'failed', attempts: 3 });
      clock.now = T0 + 100_000;
      expect(await t.store.jobs.claim([kind], 'w', clock.now, 1_000, 10)).toEqual([]);
      expect(await t.store.jobs.counts()).toEqual(expect.arrayContaining([{ kind, state: 'failed', count: 1 }]));
    });

    it('gives a job up once taken over after its last attempt: the exhausted handler runs instead of the job', async () => {
      const kind = `k-${ulid()}`;
      const clock = { now: T0 };
      const ran: string[] = [];
      const id = await t.store.jobs.enqueue({ kind, documentId: 'D1', payload: null, maxAttempts: 1, runAt: T0 }, T0);
      // The only attempt's instance dies holding it.
      expect(await t.store.jobs.claim([kind], 'dead', T0, 1_000, 1)).toHaveLength(1);
      clock.now = T0 + 1_000;
      const survivor = new Jobs(t.store.jobs, { [kind]: async () => void ran.push('run') }, { holder: 's', leaseMs: 1_000, backoffMs: 1_000, maxBackoffMs: 1_000, maxAttempts: 1, concurrency: 1, now: () => clock.now }, {
        [kind]: async (job) => void ran.push(`gave up ${job.documentId}`),
      });
      expect(await survivor.tick()).toBe(1);
      await survivor.stop();
      expect(ran).toEqual(['gave up D1']);
      expect(await t.store.jobs.state(id)).toMatchObject({ state: 'failed', attempts: 2, lastError: 'AttemptsExhaustedError' });
    });

    it('stays queued while giving up fails, and ends failed only once giving up went through', async () => {
      const kind = `k-${ulid()}`;
      const clock = { now: T0 };
      let storageAway = true;
      const gaveUp: unknown[] = [];
      const worker = () =>
        new Jobs(t.store.jobs, { [kind]: async () => Promise.reject(new RangeError('kaputt')) }, { holder: 'w', leaseMs: 60_000, backoffMs: 1_000, maxBackoffMs: 10_000, maxAttempts: 1, concurrency: 1, now: () => clock.now }, {
          [kind]: async (job, cause) => {
            if (storageAway) throw new TypeError('storage away');
            gaveUp.push(cause ?? job.lastError);
          },
        });
      const first = worker();
      const id = await first.enqueue(kind, 'D2');
      await first.stop();
      // The last attempt failed and so did giving up: not failed for good, retried after the backoff.
      expect(await t.store.jobs.state(id)).toMatchObject({ state: 'queued', attempts: 1, lastError: 'RangeError' });
      storageAway = false;
      clock.now = T0 + 1_000;
      const second = worker();
      expect(await second.tick()).toBe(1);
      await second.stop();
      // The retry only gives up (the handler does not run again), knowing why the last run failed.
      expect(gaveUp).toEqual(['RangeError']);
      expect(await t.store.jobs.state(id)).toMatchObject({ state: 'failed', attempts: 2, lastError: 'RangeError' });
    });

    it('queues a run turned away ("not now") again after the backoff without using an attempt', async () => {
      const kind = `k-${ulid()}`;
      const clock = { now: T0 };
      let turnedAway = 3;
      const runs: number[] = [];
      const handler: JobHandler = async (job) => {
        runs.push(job.attempt);
        if (turnedAway-- > 0) throw new SyntaxError('busy');
      };
      const options = { holder: 'w', leaseMs: 60_000, backoffMs: 1_000, maxBackoffMs: 10_000, maxAttempts: 1, concurrency: 1, postpone: (err: unknown) => err instanceof SyntaxError, now: () => clock.now };
      const jobs = new Jobs(t.store.jobs, { [kind]: handler }, options, { [kind]: async () => Promise.reject(new Error('must not give up')) });
      const id = await jobs.enqueue(kind, 'D3');
      await jobs.stop();
      for (let i = 1; i <= 3; i++) {
        expect(await t.store.jobs.state(id)).toMatchObject({ state: 'queued', attempts: 0 });
        clock.now = T0 + i * 1_000;
        const again = new Jobs(t.store.jobs, { [kind]: handler }, options);
        expect(await again.tick()).toBe(1);
        await again.stop();
      }
      expect(runs).toEqual([1, 1, 1, 1]);
      expect(await t.store.jobs.state(id)).toMatchObject({ state: 'done', attempts: 1 });
    });
  });
}
