/** The service's API with the bearer token from memory; never cookies (credentials: 'omit'), never cached. */
import { accessToken, renew } from './session.ts';
import { lang } from './i18n.ts';

export interface Problem {
  status: number;
  code?: string;
  title?: string;
  detail?: string;
  /** With 429 and 503 `busy`: the seconds to wait before asking again. */
  retryAfter?: number;
}

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

export interface DocumentView {
  id: string;
  unit: string;
  title: string;
  caseNumber?: string;
  classification: string;
  issuingOffice: string;
  createdAt: string;
  pageCount: number;
  transferNote: {
    capturedBy: { sub: string; name: string };
    capturedAt: string;
    receivedAt: string;
    source: string;
    transport: { encryptedParts: number; plainParts: number; metadataEncrypted: boolean };
    findings: Array<{ code: string; message: string; part?: number; page?: number; count?: number }>;
    review: { status: 'pending' | 'approved' | 'rejected'; by?: { sub: string; name: string }; at?: string; note?: string };
  };
}

export interface FeedPage {
  items: DocumentView[];
  next: string | null;
  hasMore: boolean;
}

export interface AuditEntry {
  id: string;
  at: string;
  type: string;
  actor: { sub: string; name?: string };
  details?: Record<string, unknown>;
}
