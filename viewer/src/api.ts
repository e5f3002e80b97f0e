/** The ticket-authenticated API; the ticket travels in a header, never in a URL. */
import type { Problem, ProblemCode, ViewInfo, ViewTicketRenewal } from '../../contract/index.ts';

/** What went wrong, as the viewer explains it. */
export type Failure = 'expired' | 'noAccess' | 'notFound' | 'failed';

export class ViewError extends Error {
  constructor(readonly failure: Failure) {
    super(failure);
  }
}

const failureByCode: Partial<Record<ProblemCode, Failure>> = {
  ticket_expired: 'expired',
  ticket_invalid: 'noAccess',
  ticket_wrong_document: 'noAccess',
  unauthenticated: 'noAccess',
  forbidden: 'noAccess',
  not_found: 'notFound',
};

/** Answers that say "ask again later": the reader's share of renders is taken, or the service is full. */
const RETRY_CODES: ReadonlySet<ProblemCode | undefined> = new Set<ProblemCode>(['too_many_requests', 'busy']);
/** How often one request is retried before the viewer gives up on it. */
const MAX_RETRIES = 30;

async function call(ticket: string, path: string, method = 'GET'): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(path, { method, headers: { Authorization: `Ticket ${ticket}` }, cache: 'no-store', credentials: 'omit' });
    } catch {
      throw new ViewError('failed');
    }
    if (res.ok) return res;
    const { code } = (await res.json().catch(() => ({}))) as Partial<Problem>;
    if (!RETRY_CODES.has(code) || attempt >= MAX_RETRIES) throw new ViewError((code && failureByCode[code]) ?? 'failed');
    await waitRetryAfter(res);
  }
}

/** Waits the seconds the service asked for in Retry-After (1 s when it names none). */
function waitRetryAfter(res: Response): Promise<void> {
  const seconds = Number(res.headers.get('Retry-After'));
  return new Promise((resolve) => setTimeout(resolve, 1000 * (Number.isFinite(seconds) && seconds > 0 ? seconds : 1)));
}

export async function fetchInfo(ticket: string, doc: string): Promise<ViewInfo> {
  return (await call(ticket, `/view-api/documents/${encodeURIComponent(doc)}`)).json() as Promise<ViewInfo>;
}

export async function fetchPage(ticket: string, doc: string, page: number, width: number): Promise<Blob> {
  return (await call(ticket, `/view-api/documents/${encodeURIComponent(doc)}/pages/${page}?width=${width}`)).blob();
}

/** A fresh ticket for the one still valid, while the reader keeps reading. */
export async function renewTicket(ticket: string, doc: string): Promise<ViewTicketRenewal> {
  return (await call(ticket, `/view-api/documents/${encodeURIComponent(doc)}/ticket`, 'POST')).json() as Promise<ViewTicketRenewal>;
}

/**
 * Asks the browser to drop this origin's cache and storage (Clear-Site-Data); best effort. Chromium
 * ignores the header on a response to a request sent without credentials, so this one is same-origin
 * (the service sets no cookies and this endpoint reads none).
 */
export function clearSiteData(): Promise<unknown> {
  return fetch('/view-api/close', { method: 'POST', keepalive: true, credentials: 'same-origin' }).catch(() => undefined);
}
