/**
 * The viewer's HTTP side. POST /v1/documents/{id}/views issues a ticket under bearer auth; the
 * /view-api routes take only that ticket, from the Authorization header (never the URL, so it stays
 * out of logs, history and referrers).
 */
import { Router, type Request } from 'express';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { PAGE_WIDTH, type ViewService } from '../views.ts';
import { parseQuery, parseWith } from '../validation.ts';
import { principalOf } from './middleware/auth.ts';

export interface ViewsRouterDeps {
  views: ViewService;
  /** External base URL for viewer links; unset: taken from the request. */
  publicUrl: string | undefined;
}

/** POST /v1/documents/{id}/views: mount behind bearerAuth. */
export function viewTicketsRouter(deps: ViewsRouterDeps): Router {
  const router = Router();
  router.post('/v1/documents/:id/views', async (req, res) => {
    const id = req.params.id as string;
    const { ticket, expiresAt } = await deps.views.issueTicket(principalOf(req), id);
    const base = deps.publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
    // The fragment never reaches a server: neither ours nor a referrer's.
    const viewerUrl = `${base}/viewer/#ticket=${ticket}&doc=${id}`;
    res.status(201).json({ ticket, expiresAt: expiresAt.toISOString(), viewerUrl });
  });
  return router;
}

const pageQuery = z.strictObject({
  width: z.coerce.number().int().min(PAGE_WIDTH.min).max(PAGE_WIDTH.max),
});
const pageNumber = z.coerce.number().int().min(1);

/** The ticket-authenticated API the viewer page calls, and the endpoint that clears its traces. */
export function viewerApiRouter(deps: Pick<ViewsRouterDeps, 'views'>): Router {
  const router = Router();
  router.get('/view-api/documents/:id', async (req, res) => {
    res.json(await deps.views.info(ticketOf(req), req.params.id as string));
  });
  router.post('/view-api/documents/:id/ticket', async (req, res) => {
    const renewed = await deps.views.renewTicket(ticketOf(req), req.params.id as string);
    res.json({ ticket: renewed.ticket, expiresAt: renewed.expiresAt.toISOString(), expiresInSeconds: renewed.expiresInSeconds });
  });
  router.get('/view-api/documents/:id/pages/:page', async (req, res) => {
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
