import { setTimeout as sleep } from 'node:timers/promises';
import type { Problem, ProblemCode } from '../contract/index.ts';
import { acceptLanguage, say } from './language.ts';

/** An answer the server gave that the client cannot get past; its message is the problem's detail. */
export class ServerError extends Error {
  constructor(
    readonly status: number,
    readonly code: ProblemCode | undefined,
    readonly detail: string,
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
    const problem = JSON.parse(text) as Partial<Problem>;
    return new ServerError(res.status, problem.code, problem.detail ?? problem.title ?? res.statusText);
  } catch {
    return new ServerError(res.status, undefined, text.trim() || res.statusText);
  }
}

/** The server could not be reached at all: names the address and the cause, and what to check. */
export class NetworkError extends Error {
  constructor(url: string, err: unknown) {
    super(describeNetworkFailure(url, err), { cause: err });
    this.name = 'NetworkError';
  }
}

const TLS_CODE = /^(ERR_SSL|ERR_TLS|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_(VERIFY|GET)|EPROTO$)/;

function describeNetworkFailure(url: string, err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause ?? (err as { code?: string; message?: string });
  const code = cause?.code ?? 'unknown';
  const where = new URL(url).origin;
  if (code === 'ECONNREFUSED') return say(`${where} ist nicht erreichbar: Verbindung abgelehnt (ECONNREFUSED); läuft der Dienst, stimmt --server?`, `cannot reach ${where}: connection refused (ECONNREFUSED); is the service running, is --server right?`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return say(`${where} ist nicht erreichbar: Rechnername unbekannt (${code}); prüfen Sie den Namen in --server`, `cannot reach ${where}: host not found (${code}); check the host name in --server`);
  if (TLS_CODE.test(code)) return say(`${where}: TLS fehlgeschlagen (${code}: ${cause?.message ?? ''}); prüfen Sie das Zertifikat, oder http:// statt https://`, `${where}: TLS failed (${code}: ${cause?.message ?? ''}); check the certificate, or http:// instead of https://`);
  return say(`${where} ist nicht erreichbar (${code}: ${cause?.message ?? ''})`, `cannot reach ${where} (${code}: ${cause?.message ?? ''})`);
}

/** fetch in the user's language, with network failures named (address, cause). */
export async function request(url: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(url, { ...init, headers: { 'Accept-Language': acceptLanguage, ...(init.headers as Record<string, string> | undefined) } });
  } catch (err) {
    throw new NetworkError(url, err);
  }
}

/** JSON from a request that must succeed. */
export async function fetchJson<T>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await request(url, init);
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
      why = say(`Netzwerkfehler (${(err as Error).message})`, `network error (${(err as Error).message})`);
    }
    onRetry(why, waitMs);
    await sleep(waitMs);
  }
}

async function isTransient(res: Response): Promise<boolean> {
  if (res.status === 503) return true;
  if (res.status !== 409) return false;
  // Only the "still in progress" conflict clears by itself; read a clone so the caller keeps the body.
  const problem = (await res.clone().json().catch(() => ({}))) as Partial<Problem>;
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
