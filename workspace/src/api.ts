/** The service's API with the bearer token from memory; never cookies (credentials: 'omit'), never cached. */
import type { Problem as ContractProblem } from '../../contract/index.ts';
import { accessToken, renew } from './session.ts';
import { lang } from './i18n.ts';

/** A problem+json answer as received: its status always, the rest when the body was one. */
export type Problem = Partial<Omit<ContractProblem, 'status'>> & Pick<ContractProblem, 'status'>;

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status}`);
  }
}

/** Network failures are told apart: the caller may offer to send again. */
export class NetworkError extends Error {}

export async function api(path: string, init: RequestInit = {}, retried = false): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${accessToken() ?? ''}`);
  headers.set('Accept-Language', lang());
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers, cache: 'no-store', credentials: 'omit' });
  } catch {
    throw new NetworkError('network');
  }
  // An expired token is renewed once, then the call is repeated.
  if (res.status === 401 && !retried && (await renew())) return api(path, init, true);
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as Omit<Problem, 'status'>;
    throw new ApiError({ ...body, status: res.status });
  }
  return res;
}

export async function getJson<T>(path: string): Promise<T> {
  return (await api(path)).json() as Promise<T>;
}

export async function postJson<T>(path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method: 'POST' };
  if (body !== undefined) {
    init.headers = { 'Content-Type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  return (await api(path, init)).json() as Promise<T>;
}
