import { Router } from 'express';
import { z } from 'zod';
import type { AuditService } from '../audit/service.ts';
import { parseQuery } from '../kernel/validation.ts';
import { principalOf } from './middleware/auth.ts';
import { documentId } from './documents.ts';
import { ULID_PATTERN } from '../kernel/ulid.ts';

const auditQuery = z.strictObject({
  after: z.string().regex(ULID_PATTERN, 'must be the next cursor of a previous page').optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** GET /v1/documents/{id}/audit and the global audit feed GET /v1/audit. */
export function auditRouter(audit: AuditService): Router {
  const router = Router();
  router.get('/v1/documents/:id/audit', async (req, res) => {
    const id = documentId(req);
    res.json({ documentId: id, entries: await audit.documentTrail(principalOf(req), id) });
  });
  router.get('/v1/audit', async (req, res) => {
    res.json(await audit.feed(principalOf(req), parseQuery(auditQuery, req)));
  });
  return router;
}
