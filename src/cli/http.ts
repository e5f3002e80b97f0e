import { setTimeout as sleep } from 'node:timers/promises';

/** An answer the server gave that the client cannot get past; its message is the problem's detail. */
export class ServerError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    detail: string,
  ) {
    super(`${status}${code ? ` ${code}` : ''}: ${detail}`);
    this.name = 'ServerError';
  }
}

export interface RetryPolicy {
  attempts: number;
  /** First back-off in ms, doubled per attempt (capped at 30 s) when the server names no Retry-After. */
  baseDelayMs: number;
}

/** A problem+json answer as an error; other bodies by their status alone. */
export async function serverError(res: Response): Promise<ServerError> {
  const text = await res.text();
  try {
    const problem = JSON.parse(text) as { code?: string; detail?: string; title?: string };
    return new ServerError(res.status, problem.code, problem.detail ?? problem.title ?? res.statusText);
  } catch {
    return new ServerError(res.status, undefined, text.trim() || res.statusText);
  }
}

/** JSON from a request that must succeed. */
export async function fetchJson<T>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, init);
  if (!res.ok) throw await serverError(res);
  return (await res.json()) as T;
}

/**
 * Sends `request()` until it is answered with something other than a network failure, 503 or
 * "same idempotency key still in progress", honouring Retry-After; other answers are returned.
 */
export async function withRetries(policy: RetryPolicy, request: () => Promise<Response>, onRetry: (why: string, waitMs: number) => void): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    let why: string;
    let waitMs = Math.min(policy.baseDelayMs * 2 ** (attempt - 1), 30_000);
    try {
      const res = await request();
      if (!(await isTransient(res))) return res;
      why = `${res.status} ${res.statusText}`;
      waitMs = retryAfterMs(res.headers.get('retry-after')) ?? waitMs;
      if (attempt >= policy.attempts) return res;
    } catch (err) {
      if (attempt >= policy.attempts) throw err;
      why = `network error (${(err as Error).message})`;
    }
    onRetry(why, waitMs);
    await sleep(waitMs);
  }
}

async function isTransient(res: Response): Promise<boolean> {
  if (res.status === 503) return true;
  if (res.status !== 409) return false;
  // Only the "still in progress" conflict clears by itself; read a clone so the caller keeps the body.
  const problem = (await res.clone().json().catch(() => ({}))) as { code?: string };
  return problem.code === 'idempotency_in_progress';
}

/** Retry-After as seconds or an HTTP date (RFC 9110 §10.2.3). */
function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
