/**
 * The job queue's rows (docs/jobs.md): enqueue, claim with a lease (FOR UPDATE SKIP LOCKED, so
 * instances claiming at once never take the same job and never wait for each other), renew,
 * complete, and fail with a retry after a backoff. Times are passed in, so tests own the clock.
 */
import { decryptObject, encryptObject } from '../crypto/at-rest.ts';
import type { KekLookup } from '../keys/kek-ring.ts';
import type { SqlClient, SqlQueryable } from './sql.ts';

export type JobState = 'queued' | 'running' | 'done' | 'failed';

export interface NewJob {
  kind: string;
  documentId?: string;
  /** JSON; sealed before it is written. */
  payload: unknown;
  /** Runs of the handler before the job counts as failed. */
  maxAttempts: number;
  /** Not before this time (ms). */
  runAt: number;
}

export interface ClaimedJob {
  id: number;
  kind: string;
  documentId?: string;
  payload: unknown;
  /** This run included. */
  attempt: number;
  maxAttempts: number;
  /** The error class name of the last failed run, if any. */
  lastError?: string;
}

interface JobColumns {
  id: string;
  kind: string;
  document_id: string | null;
  attempts: number;
  max_attempts: number;
  last_error: string | null;
  kek_id: string;
  sealed: Uint8Array;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class JobStore {
  constructor(
    private readonly db: SqlClient,
    private readonly keys: KekLookup,
  ) {}

  /** Queues a job; inside `tx` it is queued only if that transaction commits (e.g. with the change it follows up). */
  async enqueue(job: NewJob, now: number, tx: SqlQueryable = this.db): Promise<number> {
    // The id is not known before the insert, so the seal is bound to the kind and document instead.
    const sealed = encryptObject(Buffer.from(JSON.stringify(job.payload ?? null)), binding(job.kind, job.documentId), this.keys.active);
    const { rows } = await tx.query<{ id: string }>(
      `INSERT INTO jobs (kind, document_id, state, max_attempts, run_at, created_at, kek_id, sealed)
       VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7) RETURNING id::text AS id`,
      [job.kind, job.documentId ?? null, job.maxAttempts, iso(job.runAt), iso(now), this.keys.active.id, sealed],
    );
    return Number(rows[0]!.id);
  }

  /**
   * Leases up to `limit` jobs of `kinds` to `holder` until `now + leaseMs`: queued ones due by now, and
   * running ones whose lease ran out (their holder died). Oldest due first.
   */
  claim(kinds: readonly string[], holder: string, now: number, leaseMs: number, limit: number): Promise<ClaimedJob[]> {
    return this.take('kind = ANY($4::text[]) ORDER BY id LIMIT $5', holder, now, leaseMs, [[...kinds], limit]);
  }

  /** Leases job `id` if it is due and nobody holds it, e.g. to run it right after the request that queued it. */
  async claimOne(id: number, holder: string, now: number, leaseMs: number): Promise<ClaimedJob | undefined> {
    return (await this.take('id = $4', holder, now, leaseMs, [id]))[0];
  }

  private async take(selection: string, holder: string, now: number, leaseMs: number, params: unknown[]): Promise<ClaimedJob[]> {
    const { rows } = await this.db.query<JobColumns>(
      `UPDATE jobs SET state = 'running', attempts = attempts + 1, holder = $1, lease_until = $3
       WHERE id IN (
         SELECT id FROM jobs
         WHERE ((state = 'queued' AND run_at <= $2) OR (state = 'running' AND lease_until <= $2)) AND ${selection}
         FOR UPDATE SKIP LOCKED)
       RETURNING id::text AS id, kind, document_id, attempts, max_attempts, last_error, kek_id, sealed`,
      [holder, iso(now), iso(now + leaseMs), ...params],
    );
    return rows
      .map((r) => ({
        id: Number(r.id),
        kind: r.kind,
        ...(r.document_id ? { documentId: r.document_id } : {}),
        payload: JSON.parse(decryptObject(Buffer.from(r.sealed), binding(r.kind, r.document_id ?? undefined), this.keys).toString('utf8')) as unknown,
        attempt: r.attempts,
        maxAttempts: r.max_attempts,
        ...(r.last_error ? { lastError: r.last_error } : {}),
      }))
      .sort((a, b) => a.id - b.id);
  }

  /** Extends the lease while the handler runs; false when the job is no longer this holder's. */
  async renew(id: number, holder: string, now: number, leaseMs: number): Promise<boolean> {
    const { rows } = await this.db.query(`UPDATE jobs SET lease_until = $3 WHERE id = $1 AND holder = $2 AND state = 'running' RETURNING 1`, [id, holder, iso(now + leaseMs)]);
    return rows.length > 0;
  }

  /** Done; false when the job had been taken over meanwhile (at least once: the other run may finish it too). */
  async complete(id: number, holder: string, now: number): Promise<boolean> {
    const { rows } = await this.db.query(`UPDATE jobs SET state = 'done', finished_at = $3, lease_until = NULL WHERE id = $1 AND holder = $2 AND state = 'running' RETURNING 1`, [
      id,
      holder,
      iso(now),
    ]);
    return rows.length > 0;
  }

  /** The run failed: queued again after `retryInMs`, or failed for good once its attempts are used up. */
  async fail(id: number, holder: string, errorName: string, now: number, retryInMs: number): Promise<JobState | undefined> {
    const { rows } = await this.db.query<{ state: JobState }>(
      `UPDATE jobs SET
         state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
         run_at = $4, lease_until = NULL, last_error = $3,
         finished_at = CASE WHEN attempts >= max_attempts THEN $5::timestamptz END
       WHERE id = $1 AND holder = $2 AND state = 'running' RETURNING state`,
      [id, holder, errorName, iso(now + retryInMs), iso(now)],
    );
    return rows[0]?.state;
  }

  /**
   * Queued again after `retryInMs` whatever its attempts: `refund` gives the run's attempt back (it was
   * turned away, e.g. the processing pool was full); `errorName` replaces the last error when given.
   */
  async requeue(id: number, holder: string, now: number, retryInMs: number, options: { refund: boolean; errorName?: string }): Promise<boolean> {
    const { rows } = await this.db.query(
      `UPDATE jobs SET state = 'queued', run_at = $3, lease_until = NULL, attempts = attempts - $4::int, last_error = COALESCE($5, last_error)
       WHERE id = $1 AND holder = $2 AND state = 'running' RETURNING 1`,
      [id, holder, iso(now + retryInMs), options.refund ? 1 : 0, options.errorName ?? null],
    );
    return rows.length > 0;
  }

  /** Jobs per kind and state, for /metrics and the jobs CLI. */
  async counts(): Promise<Array<{ kind: string; state: JobState; count: number }>> {
    const { rows } = await this.db.query<{ kind: string; state: JobState; count: number }>(
      'SELECT kind, state, count(*)::int AS count FROM jobs GROUP BY kind, state ORDER BY kind, state',
    );
    return rows;
  }

  async state(id: number): Promise<{ state: JobState; attempts: number; holder: string | null; lastError: string | null } | undefined> {
    const { rows } = await this.db.query<{ state: JobState; attempts: number; holder: string | null; last_error: string | null }>(
      'SELECT state, attempts, holder, last_error FROM jobs WHERE id = $1',
      [id],
    );
    const row = rows[0];
    return row && { state: row.state, attempts: row.attempts, holder: row.holder, lastError: row.last_error };
  }
}

/** What a sealed payload is bound to, so a payload moved to another job's row fails to open. */
function binding(kind: string, documentId: string | undefined): string {
  return `db/jobs/${kind}/${documentId ?? '-'}`;
}
