/**
 * The job interface the use cases build on (OCR, deletion, …): `enqueue(kind, documentId, payload)`
 * and a worker that runs the handlers it is given. At least once: a handler may run again for a
 * job whose run was cut off (instance died, lease lost), so handlers must be idempotent.
 */
import type { ClaimedJob, JobStore } from '../metadata/job-store.ts';

export type JobHandler = (job: ClaimedJob) => Promise<void>;

export interface JobsOptions {
  /** This instance, as leases name it. */
  holder: string;
  /** How long a claimed job is this instance's without a renewal; another instance takes it over after that. */
  leaseMs: number;
  /** Retry delay after the first failed run, doubled per further failure up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
  maxAttempts: number;
  /** Jobs run at once on this instance. */
  concurrency: number;
  now?: () => number;
}

export class Jobs {
  private readonly now: () => number;
  private running = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly idle = new Set<() => void>();

  constructor(
    private readonly store: JobStore,
    private readonly handlers: Readonly<Record<string, JobHandler>>,
    private readonly options: JobsOptions,
    /** Per kind, what to do when a job is taken over after its last attempt (its instances died): e.g. mark the document failed. */
    private readonly exhausted: Readonly<Record<string, JobHandler>> = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Queues a job of a kind this service has a handler for. */
  async enqueue(kind: string, documentId: string | undefined, payload: unknown = null): Promise<number> {
    if (!this.handlers[kind]) throw new Error(`no handler for job kind '${kind}'`);
    const id = await this.store.enqueue({ kind, ...(documentId ? { documentId } : {}), payload, maxAttempts: this.options.maxAttempts, runAt: this.now() }, this.now());
    void this.tick();
    return id;
  }

  /** Runs job `id` here and now if nobody holds it; true when it finished (a failed run is retried by the workers). */
  async runNow(id: number): Promise<boolean> {
    const job = await this.store.claimOne(id, this.options.holder, this.now(), this.options.leaseMs);
    if (!job) return false;
    this.running++;
    return this.run(job);
  }

  /** Claims and runs jobs every `pollMs` (and at once after an enqueue here) until `stop()`. */
  start(pollMs: number): void {
    this.timer = setInterval(() => void this.tick(), pollMs);
    this.timer.unref();
    void this.tick();
  }

  /** Stops claiming; resolves once the jobs this instance runs have finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    while (this.running > 0) await new Promise<void>((resolve) => this.idle.add(resolve));
  }

  /** Claims what is due and runs it; resolves with how many runs it started (for tests and the CLI). */
  async tick(): Promise<number> {
    const free = this.options.concurrency - this.running;
    if (this.stopped || free <= 0) return 0;
    this.running += free;
    let claimed: ClaimedJob[] = [];
    try {
      claimed = await this.store.claim(Object.keys(this.handlers), this.options.holder, this.now(), this.options.leaseMs, free);
    } catch {
      // The database is away: the next tick tries again.
    } finally {
      this.running -= free - claimed.length;
    }
    for (const job of claimed) void this.run(job);
    if (claimed.length === 0) this.wakeIdle();
    return claimed.length;
  }

  private async run(job: ClaimedJob): Promise<boolean> {
    const { holder, leaseMs } = this.options;
    const renewal = setInterval(() => void this.store.renew(job.id, holder, this.now(), leaseMs).catch(() => undefined), leaseMs / 3);
    try {
      // Taken over after its last attempt's instance died: failed for good, not run once more.
      if (job.attempt > job.maxAttempts) {
        await this.exhausted[job.kind]?.(job);
        throw new AttemptsExhaustedError();
      }
      await this.handlers[job.kind]!(job);
      clearInterval(renewal);
      return await this.store.complete(job.id, holder, this.now());
    } catch (err) {
      clearInterval(renewal);
      const backoff = Math.min(this.options.maxBackoffMs, this.options.backoffMs * 2 ** (job.attempt - 1));
      await this.store.fail(job.id, holder, err instanceof Error ? err.name : 'Error', this.now(), backoff).catch(() => undefined);
      return false;
    } finally {
      this.running--;
      this.wakeIdle();
      // Freed a slot: there may be more due.
      if (!this.stopped) void this.tick();
    }
  }

  private wakeIdle(): void {
    if (this.running > 0) return;
    for (const resolve of this.idle) resolve();
    this.idle.clear();
  }
}

class AttemptsExhaustedError extends Error {
  override name = 'AttemptsExhaustedError';
}
