import { pipeline, type Readable } from 'node:stream';
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { AcknowledgementRequest, DeletionRequest, DocumentRecord as ContractDocument, FeedPage, ReviewRequest } from '../../contract/index.ts';
import { AppError } from '../kernel/errors.ts';
import type { DocumentService } from '../documents/service.ts';
import type { DocumentRecord } from '../documents/records.ts';
import { requireRole } from '../auth/principal.ts';
import { principalOf } from './middleware/auth.ts';
import { multipartCapture, requireBoundedLength, type UploadLimits } from './middleware/upload-limits.ts';
import type { Admission } from './middleware/admission.ts';
import {
  receivedFiles,
  toCaptureMetadata,
  toCaptureParts,
  type PartDecryptor,
  type ReceivedFile,
  type UploadResolver,
} from '../documents/capture-parts.ts';
import { parseBody, parseQuery, parseWith } from '../kernel/validation.ts';
import { firstBytes } from '../storage/first-bytes.ts';
import { ULID_PATTERN } from '../kernel/ulid.ts';

export interface DocumentsRouterDeps {
  documents: DocumentService;
  decryptor: PartDecryptor;
  uploads: UploadResolver;
  requireEncryption: boolean;
  uploadLimits: UploadLimits;
  /** The admission of captures, shared with resumable uploads. */
  admission: Admission;
  /** The admission of small JSON bodies. */
  smallBodyAdmission: Admission;
}

const idParam = z.string().regex(ULID_PATTERN, 'must be a document id (26-character ULID)');

const instant = z.iso.datetime({ offset: true });

const feedQuery = z.strictObject({
  after: idParam.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  order: z.enum(['oldest', 'newest']).optional(),
  unit: z.string().min(1).max(100).optional(),
  caseNumber: z.string().min(1).max(100).optional(),
  q: z.string().trim().min(1).max(200).optional(),
  capturedFrom: instant.optional(),
  capturedTo: instant.optional(),
  status: z.enum(['pending', 'approved', 'rejected']).optional(),
  acknowledged: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  final: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
});

const note = z.string().trim().min(1).max(2000);
const reviewBody = z.strictObject({ decision: z.enum(['approved', 'rejected']), note: note.optional() }) satisfies z.ZodType<ReviewRequest>;
const acknowledgementBody = z.strictObject({ reference: z.string().trim().min(1).max(200).optional() }) satisfies z.ZodType<AcknowledgementRequest>;
const deletionBody = z.strictObject({ reason: note }) satisfies z.ZodType<DeletionRequest>;
const jsonBody = express.json({ limit: '16kb' });

const contentQuery = z.strictObject({
  variant: z.enum(['rendition', 'original']).default('rendition'),
  part: z.coerce.number().int().min(1).optional(),
});

export function documentsRouter(deps: DocumentsRouterDeps): Router {
  const router = Router();
  const smallJson: RequestHandler[] = [deps.smallBodyAdmission.admit(), jsonBody];

  router.post(
    '/v1/documents',
    requireCaptureRole,
    requireMultipart,
    requireBoundedLength(deps.uploadLimits.maxRequestBytes),
    deps.admission.admit(),
    multipartCapture(deps.uploadLimits),
    async (req, res) => {
      const principal = principalOf(req);
      const form = req.files as Record<string, Express.Multer.File[]> | undefined;
      const metadataFile = form?.metadata?.[0];
      const body = req.body as Record<string, unknown> | undefined;
      const { metadata, encrypted } = await toCaptureMetadata(
        metadataFile?.buffer ?? (body?.metadata as string | undefined),
        deps.decryptor,
        deps.requireEncryption,
      );
      const { files, uploadIds } = await receivedFiles((form?.file ?? []) as ReceivedFile[], body?.upload, deps.uploads, principal.sub, {
        maxBytes: deps.uploadLimits.maxRequestBytes,
        bodyBytes: Number(req.headers['content-length']),
        reserve: (bytes) => deps.admission.reserve(req, bytes),
      });
      const parts = await toCaptureParts(files, deps.decryptor, deps.requireEncryption);
      const idempotencyKey = req.header('idempotency-key');
      const { record, replayed } = await deps.documents.capture(principal, {
        metadata,
        metadataEncrypted: encrypted,
        parts,
        ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
      });
      // The document holds the plaintext now; a failed removal only leaves ciphertext for the expiry sweep.
      await deps.uploads.discard(principal.sub, uploadIds).catch(() => undefined);
      if (replayed) res.setHeader('Idempotent-Replayed', 'true');
      res.status(201).location(`/v1/documents/${record.id}`).json(toDocumentView(record));
    },
  );

  router.get('/v1/documents', async (req, res) => {
    const query = parseQuery(feedQuery, req);
    const page = await deps.documents.feed(principalOf(req), query);
    res.json({ items: page.items.map(toDocumentView), next: page.next, hasMore: page.hasMore } satisfies FeedPage);
  });

  router.get('/v1/documents/:id', async (req, res) => {
    res.json(toDocumentView(await deps.documents.get(principalOf(req), documentId(req))));
  });

  router.delete('/v1/documents/:id', ...smallJson, async (req, res) => {
    const { reason } = parseBody(deletionBody, req);
    await deps.documents.delete(principalOf(req), documentId(req), reason);
    res.status(204).end();
  });

  router.get('/v1/documents/:id/manifest', async (req, res) => {
    const jws = await deps.documents.manifest(principalOf(req), documentId(req));
    res.type('application/jose').send(jws);
  });

  router.post('/v1/documents/:id/review', ...smallJson, async (req, res) => {
    const review = parseBody(reviewBody, req);
    res.json(toDocumentView(await deps.documents.review(principalOf(req), documentId(req), review)));
  });

  router.post('/v1/documents/:id/acknowledgements', ...smallJson, async (req, res) => {
    // The body is optional: an acknowledgement without a reference is complete.
    const { reference } = parseWith(acknowledgementBody, req.body ?? {}, { de: 'Der Request-Body', en: 'request body' });
    const { acknowledgement, created } = await deps.documents.acknowledge(principalOf(req), documentId(req), reference);
    res.status(created ? 201 : 200).json(acknowledgement);
  });

  router.get('/v1/documents/:id/content', async (req, res) => {
    const query = parseQuery(contentQuery, req);
    if (query.variant === 'original' && query.part === undefined) {
      throw new AppError('validation_failed', { detail: { de: 'variant=original braucht part=N (ab 1 gezählt).', en: 'variant=original needs part=N (1-based).' } });
    }
    const which = query.variant === 'original' ? { variant: 'original' as const, part: query.part! } : { variant: 'rendition' as const };
    await sendContent(req, res, deps.documents, which);
  });

  return router;
}

/** Streams a stored blob with its digest and byte-range support (RFC 9110, RFC 9530). */
async function sendContent(
  req: Request,
  res: Response,
  documents: DocumentService,
  which: { variant: 'rendition' } | { variant: 'original'; part: number },
): Promise<void> {
  const id = documentId(req);
  const content = await documents.content(principalOf(req), id, which);
  const range = req.method === 'HEAD' ? undefined : parseRange(req.header('range'), content.size);
  if (range === 'unsatisfiable') {
    res.setHeader('Content-Range', `bytes */${content.size}`);
    throw new AppError('range_not_satisfiable', {
      detail: { de: `Das Objekt hat ${content.size} Bytes; fordern Sie einen Bereich darin an.`, en: `The object has ${content.size} bytes; request a range inside it.` },
    });
  }
  const body = req.method === 'HEAD' ? undefined : await content.open(range);
  // Headers go out with the first bytes, so a read that fails at once (integrity, storage) still gets its problem answer.
  if (body) await firstBytes(body);
  res.setHeader('Content-Type', content.mediaType);
  res.setHeader('Repr-Digest', `sha-256=:${Buffer.from(content.sha256, 'hex').toString('base64')}:`);
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Content-Disposition', `attachment; filename="${id}${which.variant === 'rendition' ? '.pdf' : `-original-${which.part}`}"`);
  if (range) {
    res.status(206).setHeader('Content-Range', `bytes ${range.start}-${range.end - 1}/${content.size}`);
    res.setHeader('Content-Length', String(range.end - range.start));
  } else {
    res.setHeader('Content-Length', String(content.size));
  }
  if (!body) return void res.end();
  // Destroys the store's stream (an S3 connection) when the client goes away, and the response when a later read fails.
  pipeline(body, res, () => undefined);
}

/** One `bytes=a-b`, `bytes=a-` or `bytes=-n` range; multiple ranges are served whole (allowed by RFC 9110). */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined | 'unsatisfiable' {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  // last-pos before first-pos makes the header invalid, which RFC 9110 says to ignore.
  if (m[1] !== '' && m[2] !== '' && Number(m[2]) < Number(m[1])) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size : Math.min(size, Number(m[2]) + 1);
  }
  return start >= size || start >= end ? 'unsatisfiable' : { start, end };
}

export function documentId(req: Request): string {
  const parsed = idParam.safeParse(req.params.id);
  if (!parsed.success) throw new AppError('not_found', { detail: { de: 'Dokumentkennungen sind 26-stellige ULIDs.', en: 'Document ids are 26-character ULIDs.' } });
  return parsed.data;
}

/** Before the body is buffered or decrypted: a caller who may not capture costs no memory or CPU. */
const requireCaptureRole = (req: Request, _res: Response, next: (err?: unknown) => void) => {
  requireRole(principalOf(req), 'capture');
  next();
};

const requireMultipart = (req: Request, _res: Response, next: (err?: unknown) => void) => {
  next(
    req.is('multipart/form-data')
      ? undefined
      : new AppError('unsupported_media_type', {
          detail: {
            de: "Senden Sie die Erfassung als multipart/form-data mit einem 'metadata'-Teil und einem oder mehreren 'file'-Teilen.",
            en: "Send the capture as multipart/form-data with a 'metadata' part and one or more 'file' parts.",
          },
        }),
  );
};

/** The API representation of a document: the record plus links. */
export function toDocumentView(record: DocumentRecord): ContractDocument {
  const self = `/v1/documents/${record.id}`;
  return {
    ...record,
    links: {
      self,
      content: `${self}/content`,
      manifest: `${self}/manifest`,
      views: `${self}/views`,
      audit: `${self}/audit`,
    },
  };
}
