/**
 * The viewer's HTTP side. POST /v1/documents/{id}/views issues a ticket under bearer auth; the
 * /view-api routes take only that ticket, from the Authorization header (never the URL, so it stays
 * out of logs, history and referrers).
 */
import { Router, type Request } from 'express';
import { z } from 'zod';
import type { ViewInfo, ViewTicket, ViewTicketRenewal } from '../../contract/index.ts';
import { AppError } from '../kernel/errors.ts';
import type { ViewService } from '../views/service.ts';
import { PAGE_WIDTH, THUMBNAIL_WIDTH } from '../views/bounds.ts';
import { parseQuery, parseWith } from '../kernel/validation.ts';
import { callerOf, type Admission, type Refusals } from './middleware/admission.ts';
import { principalOf } from './middleware/auth.ts';

export interface ViewsRouterDeps {
  views: ViewService;
  /** Bounds page and thumbnail renders, per reader and in all, so reading leaves the processing pool room for captures. */
  renderAdmission: Admission;
  /** External base URL for viewer links; unset: taken from the request. */
  publicUrl: string | undefined;
}

const thumbnailQuery = z.strictObject({
  width: z.coerce.number().int().min(THUMBNAIL_WIDTH.min).max(THUMBNAIL_WIDTH.max).default(THUMBNAIL_WIDTH.default),
});

/** Seconds a reader refused a render waits: one render takes about that long. */
const RENDER_RETRY_AFTER_SECONDS = 1;

/** A reader at its share is asked to slow down (429); a service full of renders is busy (503). */
export const renderRefusals: Refusals = {
  all: () => new AppError('busy', {
    detail: {
      de: 'Gerade werden zu viele Seiten gerendert; versuchen Sie es nach der in Retry-After genannten Zeit erneut.',
      en: 'Too many pages are being rendered right now; retry after the time in Retry-After.',
    },
    extra: { retryAfter: RENDER_RETRY_AFTER_SECONDS },
  }),
  caller: (perCaller) => new AppError('too_many_requests', {
    detail: {
      de: `Für Sie werden schon ${perCaller} Seiten oder Vorschaubilder gerendert; warten Sie die in Retry-After genannte Zeit und fragen Sie dann erneut an.`,
      en: `${perCaller} pages or thumbnails are already being rendered for you; wait the time in Retry-After, then ask again.`,
    },
    extra: { retryAfter: RENDER_RETRY_AFTER_SECONDS },
  }),
};

/** POST /v1/documents/{id}/views and GET /v1/documents/{id}/thumbnail: mount behind bearerAuth. */
export function viewTicketsRouter(deps: ViewsRouterDeps): Router {
  const router = Router();
  router.post('/v1/documents/:id/views', async (req, res) => {
    const id = req.params.id as string;
    const { ticket, expiresAt } = await deps.views.issueTicket(principalOf(req), id);
    const base = deps.publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
    // The fragment never reaches a server: neither ours nor a referrer's.
    const viewerUrl = `${base}/viewer/#ticket=${ticket}&doc=${id}`;
    res.status(201).json({ ticket, expiresAt: expiresAt.toISOString(), viewerUrl } satisfies ViewTicket);
  });
  router.get('/v1/documents/:id/thumbnail', deps.renderAdmission.admit(noBody), async (req, res) => {
    const { width } = parseQuery(thumbnailQuery, req);
    const image = await deps.views.thumbnail(principalOf(req), req.params.id as string, width);
    res.type(image.mediaType).send(image.bytes);
  });
  return router;
}

const pageQuery = z.strictObject({
  width: z.coerce.number().int().min(PAGE_WIDTH.min).max(PAGE_WIDTH.max),
});
const pageNumber = z.coerce.number().int().min(1);

/** The ticket-authenticated API the viewer page calls, and the endpoint that clears its traces. */
export function viewerApiRouter(deps: Pick<ViewsRouterDeps, 'views' | 'renderAdmission'>): Router {
  const router = Router();
  router.get('/view-api/documents/:id', async (req, res) => {
    res.json((await deps.views.info(ticketOf(req), req.params.id as string)) satisfies ViewInfo);
  });
  router.post('/view-api/documents/:id/ticket', async (req, res) => {
    const renewed = await deps.views.renewTicket(ticketOf(req), req.params.id as string);
    res.json({ ticket: renewed.ticket, expiresAt: renewed.expiresAt.toISOString(), expiresInSeconds: renewed.expiresInSeconds } satisfies ViewTicketRenewal);
  });
  router.get('/view-api/documents/:id/pages/:page', deps.renderAdmission.admit(noBody, ticketReader), async (req, res) => {
    const { width } = parseQuery(pageQuery, req);
    const page = parseWith(pageNumber, req.params.page, { de: 'Die Seitennummer', en: 'page number' });
    const image = await deps.views.page(ticketOf(req), req.params.id as string, page, width);
    res.type(image.mediaType).setHeader('X-Page-Width', String(image.width)).setHeader('X-Page-Height', String(image.height));
    res.send(image.bytes);
  });
  // Not "cookies": the service sets none, and that directive would clear every cookie of the whole site
  // (e.g. a single sign-on session); not "executionContexts": it would reload other tabs of the service.
  router.post('/view-api/close', (_req, res) => {
    res.setHeader('Clear-Site-Data', '"cache", "storage"');
    res.status(204).end();
  });
  return router;
}

const TICKET_HEADER = /^Ticket ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;

function noBody(): number {
  return 0;
}

/**
 * The reader a ticket names, read before it is verified: a forged one fails verification before any
 * render, so only a verified reader's renders ever count against that reader's share.
 */
function ticketReader(req: Request): string {
  const payload = TICKET_HEADER.exec(req.headers.authorization ?? '')?.[1]?.split('.')[1] ?? '';
  try {
    const sub = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown }).sub;
    // The same key as the bearer's subject: a reader's thumbnails and pages share one quota.
    if (typeof sub === 'string') return `sub:${sub}`;
  } catch {
    // Not a ticket: refused by ticketOf.
  }
  return callerOf(req);
}

function ticketOf(req: Request): string {
  const match = TICKET_HEADER.exec(req.headers.authorization ?? '');
  if (!match) {
    throw new AppError('ticket_invalid', {
      detail: {
        de: 'Senden Sie das Ansichtsticket als "Authorization: Ticket <ticket>"; öffnen Sie das Dokument erneut, um eines zu erhalten.',
        en: 'Send the view ticket as "Authorization: Ticket <ticket>"; open the document again to get one.',
      },
    });
  }
  return match[1]!;
}
