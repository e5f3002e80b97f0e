import { pipeline } from 'node:stream';
import express, { Router, type Response } from 'express';
import { z } from 'zod';
import type { XdomeaVorgangRequest } from '../../contract/index.ts';
import { AppError } from '../kernel/errors.ts';
import { MAX_BATCH, type XdomeaExport, type XdomeaPackage } from '../xdomea/export.ts';
import { parseBody, parseQuery } from '../kernel/validation.ts';
import { principalOf } from './middleware/auth.ts';
import type { Admission } from './middleware/admission.ts';
import { documentId } from './documents.ts';
import { ULID_PATTERN } from '../kernel/ulid.ts';

const ulid = z.string().regex(ULID_PATTERN, 'must be a document id (26-character ULID)');
const originals = z.enum(['true', 'false']).transform((v) => v === 'true').default(true);
const exportQuery = z.strictObject({ originals });
const vorgangBody = z.strictObject({ documentIds: z.array(ulid).min(1).max(MAX_BATCH), originals: z.boolean().default(true) }) satisfies z.ZodType<XdomeaVorgangRequest>;

/** xdomea 3.0.0 handover: GET /v1/documents/{id}/xdomea (one Dokument) and POST /v1/xdomea/vorgang (one case's documents). */
export function xdomeaRouter(deps: { xdomea: XdomeaExport; smallBodyAdmission: Admission }): Router {
  const router = Router();
  // Express answers HEAD with the GET handler, which would record an export that never left.
  router.head('/v1/documents/:id/xdomea', (_req, res) => {
    res.setHeader('Allow', 'GET');
    throw new AppError('method_not_allowed', {
      detail: {
        de: 'Jeder xdomea-Export wird protokolliert und erhält eine neue ProzessID; fordern Sie ihn mit GET an.',
        en: 'Every xdomea export is recorded and gets a new ProzessID; request it with GET.',
      },
    });
  });
  router.get('/v1/documents/:id/xdomea', async (req, res) => {
    const { originals } = parseQuery(exportQuery, req);
    send(res, await deps.xdomea.document(principalOf(req), documentId(req), { originals }));
  });
  // A body like a review's: it passes the small-body admission as every route with a body does.
  router.post('/v1/xdomea/vorgang', deps.smallBodyAdmission.admit(), express.json({ limit: '16kb' }), async (req, res) => {
    const { documentIds, originals } = parseBody(vorgangBody, req);
    send(res, await deps.xdomea.vorgang(principalOf(req), documentIds, { originals }));
  });
  return router;
}

function send(res: Response, pack: XdomeaPackage): void {
  res.setHeader('Content-Type', 'application/zip');
  res.setHeader('Content-Disposition', `attachment; filename="${pack.fileName}"`);
  // Destroys the store streams when the client goes away, and cuts the response when a later read fails.
  pipeline(pack.stream, res, () => undefined);
}
