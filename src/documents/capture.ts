/** Capture: check the request, process its parts, store the blobs and commit the document in one transaction; with an idempotency key, a retry returns the first result. */
import { createHash } from 'node:crypto';
import { AppError } from '../kernel/errors.ts';
import { canSeeUnit, requireRole, type Principal } from '../auth/principal.ts';
import { enhanceOf, type CaptureMetadata } from './capture-metadata.ts';
import { inProgress } from './idempotency.ts';
import { ClaimLostError } from '../metadata/metadata-store.ts';
import type { DocumentRecord } from './records.ts';
import type { InputFile } from '../processing/types.ts';
import { layout } from '../storage/layout.ts';
import { eventOf, readRecord, serialize, type DocumentContext } from './context.ts';
import { OCR_JOB } from './text-layer.ts';

/** One uploaded part after decryption, with how it arrived. */
export interface CapturePart extends InputFile {
  /** JWE header facts when the part arrived encrypted; absent for raw parts. */
  jwe?: { alg: string; kid: string };
}

export interface CaptureRequest {
  metadata: CaptureMetadata;
  metadataEncrypted: boolean;
  parts: CapturePart[];
  idempotencyKey?: string;
}

/** Processes and stores a capture; with an idempotency key, a retry returns the first result. */
export async function capture(ctx: DocumentContext, principal: Principal, request: CaptureRequest): Promise<{ record: DocumentRecord; replayed: boolean }> {
  requireRole(principal, 'capture');
  if (request.parts.length === 0) {
    throw new AppError('validation_failed', { detail: { de: "Senden Sie mindestens einen Teil namens 'file'.", en: "Send at least one part named 'file'." } });
  }
  assertCornersFit(request);
  const unit = resolveUnit(principal, request.metadata.unit);
  const id = ctx.newId();
  if (!request.idempotencyKey) return { record: await create(ctx, principal, unit, request, id, undefined), replayed: false };
  const claim = await ctx.idempotency.claim(principal.sub, request.idempotencyKey, fingerprint(request), id);
  if (claim.kind === 'replay') return { record: await readRecord(ctx, claim.documentId), replayed: true };
  try {
    return { record: await create(ctx, principal, unit, request, id, claim.keyHash), replayed: false };
  } catch (err) {
    await claim.release().catch(() => undefined);
    // Our lease ran out and another request of this key took over: it makes the document, the client retries for it.
    throw err instanceof ClaimLostError ? inProgress() : err;
  }
}

async function create(
  ctx: DocumentContext,
  principal: Principal,
  unit: string,
  request: CaptureRequest,
  id: string,
  claimHash: string | undefined,
): Promise<DocumentRecord> {
  const receivedAt = new Date(ctx.now());
  const { metadata } = request;
  const capturedAt = metadata.capturedAt ? new Date(metadata.capturedAt) : receivedAt;
  const issuingOffice = metadata.issuingOffice ?? unit;
  const enhance = enhanceOf(metadata);
  const files = request.parts.map((part, i) => ({ ...part, ...(metadata.corners?.[i] ? { corners: metadata.corners[i] } : {}) }));
  const result = await ctx.processor.process(files, {
    enhance,
    source: metadata.source,
    sanitize: metadata.sanitize,
    marking: { classification: metadata.classification, issuingOffice, capturedAt, documentId: id },
    limits: ctx.limits,
  });
  const record: DocumentRecord = {
    id,
    formatVersion: 1,
    unit,
    title: metadata.title,
    ...(metadata.caseNumber ? { caseNumber: metadata.caseNumber } : {}),
    classification: metadata.classification,
    issuingOffice,
    createdAt: receivedAt.toISOString(),
    pageCount: result.pageCount,
    rendition: { mediaType: 'application/pdf', size: result.rendition.byteLength, sha256: result.renditionSha256 },
    originals: result.originals.map((o, i) => ({ part: i + 1, ...o, encrypted: Boolean(request.parts[i]?.jwe) })),
    ...(ctx.ocr.enabled ? { textLayer: { status: 'pending' as const } } : {}),
    transferNote: {
      capturedBy: { sub: principal.sub, name: principal.name },
      capturedAt: capturedAt.toISOString(),
      receivedAt: receivedAt.toISOString(),
      source: metadata.source,
      ...(metadata.device ? { device: metadata.device } : {}),
      settings: { enhance, sanitize: metadata.sanitize },
      transport: {
        encryptedParts: request.parts.filter((p) => p.jwe).length,
        plainParts: request.parts.filter((p) => !p.jwe).length,
        metadataEncrypted: request.metadataEncrypted,
      },
      findings: result.findings,
      review: { status: 'pending' },
    },
  };
  await commit(ctx, principal, record, request.parts, result.rendition, claimHash);
  return record;
}

/**
 * Blobs first, durable in the object store; then one transaction makes the document exist with its
 * feed position and its `captured` audit entry (and marks the idempotency claim done): no committed
 * document lacks its entry, and no entry names a document that never appeared.
 */
async function commit(ctx: DocumentContext, principal: Principal, record: DocumentRecord, parts: CapturePart[], rendition: Uint8Array, claimHash: string | undefined): Promise<void> {
  const { store, metadata } = ctx;
  try {
    // The last use of these bytes: the sealing worker may take them over instead of a copy.
    await Promise.all([
      store.put(layout.rendition(record.id), rendition, { handOver: true }),
      ...parts.map((p, i) => store.put(layout.original(record.id, i + 1), p.bytes, { handOver: true })),
    ]);
    const captured = eventOf(principal, record, 'captured', { parts: record.originals.length, pages: record.pageCount, renditionSha256: record.rendition.sha256 });
    const ocr = record.textLayer ? { kind: OCR_JOB, documentId: record.id, payload: null, maxAttempts: ctx.ocr.attempts, runAt: ctx.now() } : undefined;
    await metadata.commitDocument(
      {
        id: record.id,
        unit: record.unit,
        createdAt: record.createdAt,
        reviewStatus: record.transferNote.review.status,
        pageCount: record.pageCount,
        sizeBytes: record.rendition.size + record.originals.reduce((sum, o) => sum + o.size, 0),
        body: serialize(record),
        search: { title: record.title, ...(record.caseNumber ? { caseNumber: record.caseNumber } : {}) },
        textLayer: record.textLayer ? 'pending' : 'none',
      },
      claimHash,
      ocr,
      captured,
    );
  } catch (err) {
    await discard(ctx, record.id);
    throw err;
  }
  // The 201 does not wait for it: this instance's workers claim the job now, any other may take it over.
  ctx.jobs.wake();
}

/** Best effort; what a crash leaves behind is found later by the orphan sweep. */
async function discard(ctx: DocumentContext, id: string): Promise<void> {
  const { store } = ctx;
  const keys = (await store.list({ prefix: layout.documentPrefix(id) }).catch(() => [])).map((o) => o.key);
  await Promise.all(keys.map((k) => store.delete(k).catch(() => undefined)));
}

function resolveUnit(principal: Principal, requested: string | undefined): string {
  if (requested) {
    if (!canSeeUnit(principal, requested)) {
      throw new AppError('forbidden', {
        detail: { de: `Sie können nicht für die Dienststelle '${requested}' erfassen; verwenden Sie eine Ihrer Dienststellen.`, en: `You cannot capture for unit '${requested}'; use one of your units.` },
      });
    }
    return requested;
  }
  const unit = principal.units[0];
  if (!unit) {
    throw new AppError('forbidden', {
      detail: { de: 'Ihr Konto gehört zu keiner Dienststelle; wenden Sie sich an Ihre Administration.', en: 'Your account belongs to no unit (Dienststelle); ask your administrator.' },
    });
  }
  return unit;
}

/** Corners are given per file part: not for more files than were sent, and only where they are used (`enhance: document`). */
function assertCornersFit(request: CaptureRequest): void {
  if (request.metadata.corners?.some((c) => c) && enhanceOf(request.metadata) !== 'document') {
    throw new AppError('validation_failed', {
      detail: {
        de: `metadata.corners werden nur mit enhance: document angewandt (hier: enhance: ${enhanceOf(request.metadata)}); senden Sie enhance: document oder lassen Sie die Ecken weg.`,
        en: `metadata.corners are applied with enhance: document only (here: enhance: ${enhanceOf(request.metadata)}); send enhance: document or leave the corners out.`,
      },
    });
  }
  const given = request.metadata.corners?.length ?? 0;
  if (given <= request.parts.length) return;
  throw new AppError('validation_failed', {
    detail: {
      de: `metadata.corners nennt Ecken für ${given} Dateien, gesendet wurden ${request.parts.length}; geben Sie je Datei (in Reihenfolge) vier Punkte oder null an.`,
      en: `metadata.corners gives corners for ${given} files but ${request.parts.length} were sent; give four points or null per file, in order.`,
    },
  });
}

/** Same metadata and same plaintext parts make the same request, however they were encrypted. */
function fingerprint(request: CaptureRequest): string {
  const hash = createHash('sha256').update(JSON.stringify(request.metadata));
  // Each part's hash as the crypto pool made it while decrypting: no byte is hashed twice.
  for (const part of request.parts) hash.update(part.sha256 ? Buffer.from(part.sha256, 'hex') : createHash('sha256').update(part.bytes).digest());
  return hash.digest('hex');
}
