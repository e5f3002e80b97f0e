/**
 * The job interface the use cases build on (OCR, deletion, …): `enqueue(kind, documentId, payload)`
 * and a worker that runs the handlers it is given. At least once: a handler may run again for a
 * job whose run was cut off (instance died, lease lost), so handlers must be idempotent.
 */
import type { ClaimedJob, JobStore } from '../metadata/job-store.ts';

export type JobHandler = (job: ClaimedJob) => Promise<void>;
/** Gives a job up for good (e.g. marks its document failed); `cause` is the last run's error, absent when that run was cut off. */
export type GiveUpHandler = (job: ClaimedJob, cause?: unknown) => Promise<void>;

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
  /** Errors that mean "not now" (the processing pool is full): the job is queued again after the backoff without using an attempt. */
  postpone?: (err: unknown) => boolean;
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
    /**
     * Per kind, what to do when a job's last attempt failed or was cut off: e.g. mark the document failed.
     * The job ends `failed` only once this succeeded; until then it is retried after the backoff.
     */
    private readonly exhausted: Readonly<Record<string, GiveUpHandler>> = {},
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
      // Taken over after its last attempt (its instance died, or giving up failed): only give up, not run once more.
      if (job.attempt > job.maxAttempts) return await this.giveUp(job, undefined);
      try {
        await this.handlers[job.kind]!(job);
      } catch (err) {
        return await this.failed(job, err);
      }
      return await this.store.complete(job.id, holder, this.now());
    } finally {
      clearInterval(renewal);
      this.running--;
      this.wakeIdle();
      // Freed a slot: there may be more due.
      if (!this.stopped) void this.tick();
    }
  }

  private async failed(job: ClaimedJob, err: unknown): Promise<false> {
    const { holder } = this.options;
    if (this.options.postpone?.(err)) {
      await this.store.requeue(job.id, holder, this.now(), this.backoff(job), { refund: true }).catch(() => undefined);
      return false;
    }
    if (job.attempt >= job.maxAttempts) return this.giveUp(job, err);
    await this.store.fail(job.id, holder, errorName(err), this.now(), this.backoff(job)).catch(() => undefined);
    return false;
  }

  /** Failed for good only once the kind's give-up step went through: no job ends `failed` with its document left pending. */
  private async giveUp(job: ClaimedJob, cause: unknown): Promise<false> {
    const { holder } = this.options;
    const name = cause === undefined ? (job.lastError ?? 'AttemptsExhaustedError') : errorName(cause);
    try {
      await this.exhausted[job.kind]?.(job, cause);
    } catch {
      // E.g. the storage is away: the next claim (attempt beyond the last) gives up again.
      await this.store.requeue(job.id, holder, this.now(), this.backoff(job), { refund: false, errorName: name }).catch(() => undefined);
      return false;
    }
    await this.store.fail(job.id, holder, name, this.now(), 0).catch(() => undefined);
    return false;
  }

  private backoff(job: ClaimedJob): number {
    return Math.min(this.options.maxBackoffMs, this.options.backoffMs * 2 ** (job.attempt - 1));
  }

  private wakeIdle(): void {
    if (this.running > 0) return;
    for (const resolve of this.idle) resolve();
    this.idle.clear();
  }
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : 'Error';
}
