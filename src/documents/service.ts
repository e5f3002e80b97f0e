import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { monotonicFactory } from 'ulid';
import { AppError } from '../kernel/errors.ts';
import { cursorPosition, settledPage } from '../kernel/cursor.ts';
import { canSeeUnit, requireAnyRole, requireRole, type Principal, type Role } from '../auth/principal.ts';
import { enhanceOf, type CaptureMetadata, type Enhance } from './capture-metadata.ts';
import { inProgress, type IdempotencyKeys } from './idempotency.ts';
import type { AuditEvent, AuditLog } from '../audit/trail.ts';
import type { ManifestSigner } from './manifest.ts';
import { ClaimLostError, type MetadataStore, type StoredDocument } from '../metadata/metadata-store.ts';
import type { ClaimedJob } from '../metadata/job-store.ts';
import type { Acknowledgement, DocumentRecord, TextLayer, TransferNote } from './records.ts';
import type { TextLayerResult } from '../processing/text-layer.ts';
import type { Finding, InputFile, ProcessOptions, ProcessResult } from '../processing/types.ts';
import { ObjectNotFoundError, type ByteRange, type ObjectStore } from '../storage/object-store.ts';
import { ID_PATTERN, layout } from '../storage/layout.ts';
import { walk } from '../storage/walk.ts';

/** What the use cases need from processing (the worker pool implements it). */
export interface Processor {
  process(files: InputFile[], options: ProcessOptions): Promise<ProcessResult>;
  /** The rendition with its invisible OCR text layer, within `budgetMs`. */
  addTextLayer(pdf: Uint8Array, budgetMs: number): Promise<TextLayerResult>;
}

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

export interface FeedQuery {
  /** A `next` of an earlier page: the id of the last document it showed (one of the caller's units). */
  after?: string;
  limit: number;
  /** Feed order (default) or newest first; `next` then pages backwards. */
  order?: 'oldest' | 'newest';
  unit?: string;
  caseNumber?: string;
  /** Words that must all occur in the title or on the pages (their text layer). */
  q?: string;
  /** Only final documents (text layer ready or failed), handed over in order: none past one still pending. */
  final?: boolean;
  /** ISO 8601 bounds on the receipt time: from inclusive, to exclusive. */
  capturedFrom?: string;
  capturedTo?: string;
  status?: TransferNote['review']['status'];
  /** false: only documents the caller has not acknowledged yet. */
  acknowledged?: boolean;
}

export interface FeedPage {
  items: DocumentRecord[];
  /** Continue from here next time: the page's last document's id; unchanged when nothing new was visible. */
  next: string | null;
  hasMore: boolean;
}

export interface DocumentServiceDeps {
  /** The blobs: originals and renditions. */
  store: ObjectStore;
  /** Records, feed order, acknowledgements, deletions and idempotency claims. */
  metadata: MetadataStore;
  processor: Processor;
  idempotency: IdempotencyKeys;
  limits: { maxPages: number; timeBudgetMs: number };
  audit: AuditLog;
  manifests: Pick<ManifestSigner, 'sign'>;
  /** Runs a queued job here at once (the worker pool retries it if this run fails); `wake` lets this instance's workers claim what was queued. */
  jobs: { runNow(id: number): Promise<boolean>; wake(): void };
  /** The text layer job (off: captures get none): time budget of one run and runs before it is `failed`. */
  ocr: { enabled: boolean; budgetMs: number; attempts: number };
  /** Documents younger than this cannot be deleted; 0: none. */
  retentionMs: number;
  now?: () => number;
}

const READ_ROLES: Role[] = ['read', 'export', 'review', 'audit', 'admin'];
/** The job that removes a deleted document's blobs; queued in the deletion's transaction. */
export const PURGE_JOB = 'document.purge';
const PURGE_ATTEMPTS = 10;
/** The job that adds the text layer after the 201; queued in the capture's commit. */
export const OCR_JOB = 'document.ocr';
/** Who the audit trail names for what the OCR job changes. */
const OCR_ACTOR = { sub: 'system:ocr', name: 'Texterkennung / text recognition' };

/** The use cases: the only module that calls both processing and storage. */
export class DocumentService {
  private readonly now: () => number;
  private readonly newId: () => string;

  constructor(private readonly deps: DocumentServiceDeps) {
    this.now = deps.now ?? Date.now;
    const factory = monotonicFactory();
    this.newId = () => factory(this.now());
  }

  /** Processes and stores a capture; with an idempotency key, a retry returns the first result. */
  async capture(principal: Principal, request: CaptureRequest): Promise<{ record: DocumentRecord; replayed: boolean }> {
    requireRole(principal, 'capture');
    if (request.parts.length === 0) {
      throw new AppError('validation_failed', { detail: { de: "Senden Sie mindestens einen Teil namens 'file'.", en: "Send at least one part named 'file'." } });
    }
    assertCornersFit(request);
    const unit = resolveUnit(principal, request.metadata.unit);
    const id = this.newId();
    if (!request.idempotencyKey) return { record: await this.create(principal, unit, request, id, undefined), replayed: false };
    const claim = await this.deps.idempotency.claim(principal.sub, request.idempotencyKey, fingerprint(request), id);
    if (claim.kind === 'replay') return { record: await this.readRecord(claim.documentId), replayed: true };
    try {
      return { record: await this.create(principal, unit, request, id, claim.keyHash), replayed: false };
    } catch (err) {
      await claim.release().catch(() => undefined);
      // Our lease ran out and another request of this key took over: it makes the document, the client retries for it.
      throw err instanceof ClaimLostError ? inProgress() : err;
    }
  }

  async get(principal: Principal, id: string): Promise<DocumentRecord> {
    requireAnyRole(principal, READ_ROLES);
    return this.visibleRecord(principal, id);
  }

  /**
   * The rendition or an original as stored; role `export`. `open` streams it, optionally a byte range.
   * `seen`: the record as the caller read it through `get` (an export packing one state of the document).
   */
  async content(
    principal: Principal,
    id: string,
    which: { variant: 'rendition' } | { variant: 'original'; part: number },
    seen?: DocumentRecord,
  ): Promise<{ mediaType: string; size: number; sha256: string; open(range?: ByteRange): Promise<Readable> }> {
    requireRole(principal, 'export');
    const record = seen ?? (await this.visibleRecord(principal, id));
    const part = which.variant === 'original' ? which.part : 0;
    const described = which.variant === 'rendition' ? record.rendition : record.originals.find((o) => o.part === part);
    if (!described) {
      throw new AppError('not_found', {
        detail: {
          de: `Das Dokument hat ${record.originals.length} Originalteil(e); Teil ${part} gibt es nicht.`,
          en: `The document has ${record.originals.length} original part(s); part ${part} does not exist.`,
        },
      });
    }
    const key = which.variant === 'rendition' ? renditionKey(record) : layout.original(id, part);
    // Recorded when bytes are opened, so a HEAD or a refused range exports nothing.
    const open = async (range?: ByteRange) => {
      await this.audit(principal, record, 'content_exported', { ...which, ...(range ? { range: `${range.start}-${range.end ?? ''}` } : {}) });
      return this.openBlob(id, key, range);
    };
    return { mediaType: described.mediaType, size: described.size, sha256: described.sha256, open };
  }

  /** A blob gone after its record was read was removed by a deletion meanwhile: the document is gone. */
  private async openBlob(id: string, key: string, range?: ByteRange): Promise<Readable> {
    try {
      return await this.deps.store.get(key, range);
    } catch (err) {
      throw err instanceof ObjectNotFoundError ? notFound(id) : err;
    }
  }

  /** The signed manifest (compact JWS) of the document's integrity evidence; role `export` or `audit`. `seen` as for `content`. */
  async manifest(principal: Principal, id: string, seen?: DocumentRecord): Promise<string> {
    requireAnyRole(principal, ['export', 'audit']);
    const record = seen ?? (await this.visibleRecord(principal, id));
    await this.audit(principal, record, 'manifest_exported');
    return this.deps.manifests.sign(record);
  }

  /**
   * Quality review (BSI TR-03138) by role `review`: the decision is final. The record is replaced only
   * while it is still pending (one conditional update), so of two racing reviewers exactly one wins.
   */
  async review(principal: Principal, id: string, review: { decision: 'approved' | 'rejected'; note?: string }): Promise<DocumentRecord> {
    requireRole(principal, 'review');
    const record = await this.visibleRecord(principal, id);
    const current = record.transferNote.review;
    if (current.status !== 'pending') throw alreadyReviewed(current);
    const decision: TransferNote['review'] = {
      status: review.decision,
      by: { sub: principal.sub, name: principal.name },
      at: new Date(this.now()).toISOString(),
      ...(review.note !== undefined ? { note: review.note } : {}),
    };
    let reviewed = record;
    const decided = await this.deps.metadata.decideReview(id, review.decision, (body) => {
      const current = recordOf({ body });
      reviewed = { ...current, transferNote: { ...current.transferNote, review: decision } };
      return serialize(reviewed);
    }, eventOf(principal, record, 'reviewed', { decision: review.decision, ...(review.note !== undefined ? { note: review.note } : {}) }));
    if (!decided) throw alreadyReviewed((await this.readRecord(id)).transferNote.review);
    return reviewed;
  }

  /** Role `export`: the caller's archive took the document over. Repeating it returns the first acknowledgement. */
  async acknowledge(principal: Principal, id: string, reference: string | undefined): Promise<{ acknowledgement: Acknowledgement; created: boolean }> {
    requireRole(principal, 'export');
    const record = await this.visibleRecord(principal, id);
    const acknowledgement: Acknowledgement = {
      documentId: id,
      by: { sub: principal.sub, name: principal.name },
      at: new Date(this.now()).toISOString(),
      ...(reference !== undefined ? { reference } : {}),
    };
    const event = eventOf(principal, record, 'acknowledged', reference !== undefined ? { reference } : {});
    const stored = await this.deps.metadata.acknowledge(id, subjectHash(principal.sub), acknowledgement.at, Buffer.from(JSON.stringify(acknowledgement)), event);
    // Gone: a deletion committed between the read and this write.
    if (!stored) throw notFound(id);
    if (!stored.created) return { acknowledgement: JSON.parse(stored.body.toString('utf8')) as Acknowledgement, created: false };
    return { acknowledgement, created: true };
  }

  /**
   * Role `admin`, after the retention period: the row goes, a deletion row stays, the purge job is
   * queued and the audit entry appended (one transaction: the document disappears in one step, never
   * without its entry, and its blobs are sure to follow); the request runs the job at once,
   * a failed or interrupted run is retried by any instance. The trail stays.
   */
  async delete(principal: Principal, id: string, reason: string): Promise<void> {
    requireRole(principal, 'admin');
    if (await this.finishInterruptedDeletion(principal, id)) return;
    const record = await this.visibleRecord(principal, id);
    const retainedUntil = Date.parse(record.createdAt) + this.deps.retentionMs;
    if (retainedUntil > this.now()) {
      throw new AppError('retention_active', {
        detail: {
          de: `Das Dokument unterliegt der Aufbewahrung bis ${new Date(retainedUntil).toISOString()}; vorher kann es nicht gelöscht werden.`,
          en: `The document is under retention until ${new Date(retainedUntil).toISOString()}; it cannot be deleted before then.`,
        },
      });
    }
    const purge = { kind: PURGE_JOB, documentId: id, payload: null, maxAttempts: PURGE_ATTEMPTS, runAt: this.now() };
    const deleted = await this.deps.metadata.deleteDocument(id, new Date(this.now()).toISOString(), purge, eventOf(principal, record, 'deleted', { reason }));
    if (deleted?.jobId !== undefined) await this.deps.jobs.runNow(deleted.jobId);
  }

  /** The purge job's handler: removes every blob of a deleted document; idempotent. */
  async purge(id: string): Promise<void> {
    await this.deleteBlobs(id);
  }

  /**
   * The OCR job's handler: the current rendition gets its text layer, stored beside the first one, then
   * the record points to it, the page words join the blind index and the audit entry is appended (one
   * transaction). Idempotent: a document no longer pending is left alone. A failure is retried; after
   * the last attempt the worker gives up (`giveUpTextLayer`).
   */
  async addTextLayer(job: Pick<ClaimedJob, 'documentId'>): Promise<void> {
    const id = job.documentId!;
    const record = await this.pendingRecord(id);
    if (!record) return;
    const result = await this.deps.processor.addTextLayer(await buffer(await this.openBlob(id, layout.rendition(id))), this.deps.ocr.budgetMs);
    await this.finishTextLayer(record, result);
  }

  /**
   * The OCR job's last attempt failed (`cause`) or was cut off: the document ends `failed` with the reason,
   * readable as it was. Throws when that cannot be written, so the worker tries again later.
   */
  async giveUpTextLayer(job: Pick<ClaimedJob, 'documentId' | 'lastError'>, cause?: unknown): Promise<void> {
    const record = await this.pendingRecord(job.documentId!);
    if (!record) return;
    const reason =
      cause !== undefined
        ? reasonOf(cause)
        : job.lastError
          ? failedBecause(job.lastError)
          : 'Die Texterkennung wurde bei jedem Versuch unterbrochen / text recognition was interrupted on every attempt';
    await this.failTextLayer(record, reason);
  }

  private async pendingRecord(id: string): Promise<DocumentRecord | undefined> {
    const stored = await this.deps.metadata.document(id);
    const record = stored && recordOf(stored);
    return record?.textLayer?.status === 'pending' ? record : undefined;
  }

  private async finishTextLayer(record: DocumentRecord, result: TextLayerResult): Promise<void> {
    const { id } = record;
    const words = result.pages.flat();
    // Nothing was added (every page had its text): the first rendition stays the current one.
    const changed = words.length > 0;
    const rendition = changed ? { mediaType: 'application/pdf' as const, size: result.pdf.byteLength, sha256: sha256(result.pdf), textLayer: true as const } : record.rendition;
    if (changed) await this.deps.store.put(layout.textRendition(id), result.pdf);
    const at = new Date(this.now()).toISOString();
    const event = eventOf(OCR_ACTOR, record, 'text_layer_added', { words: words.length, previousSha256: record.rendition.sha256, renditionSha256: rendition.sha256 });
    const done = await this.deps.metadata.finishTextLayer(id, 'ready', (body) => {
      const current = recordOf({ body });
      const findings = [...current.transferNote.findings, ...result.findings];
      return serialize({ ...current, rendition, textLayer: { status: 'ready', at, words: words.length }, transferNote: { ...current.transferNote, findings } });
    }, [...words, ...result.ownText].join(' '), event);
    // Deleted meanwhile: what this run wrote goes too.
    if (!done && changed && !(await this.deps.metadata.isCommitted(id))) await this.deps.store.delete(layout.textRendition(id));
  }

  private async failTextLayer(record: DocumentRecord, reason: string): Promise<void> {
    const at = new Date(this.now()).toISOString();
    const event = eventOf(OCR_ACTOR, record, 'text_layer_failed', { reason });
    await this.deps.metadata.finishTextLayer(record.id, 'failed', (body) => serialize({ ...recordOf({ body }), textLayer: { status: 'failed', at, reason } }), '', event);
  }

  /** A repeated DELETE after one interrupted past the record removes what is left (answering 204 again). */
  private async finishInterruptedDeletion(principal: Principal, id: string): Promise<boolean> {
    if (!ID_PATTERN.test(id) || (await this.deps.metadata.isCommitted(id))) return false;
    const deletion = await this.deps.metadata.deletion(id);
    if (!deletion || !canSeeUnit(principal, deletion.unit)) return false;
    await this.deleteBlobs(id);
    return true;
  }

  private async deleteBlobs(id: string): Promise<void> {
    for await (const blob of walk(this.deps.store, layout.documentPrefix(id))) await this.deps.store.delete(blob.key);
  }

  /**
   * For a verified view ticket: the record and a loader of the rendition bytes. No principal here: the
   * ticket was issued after `get`'s role and unit checks and names this document only.
   */
  async forViewing(id: string): Promise<{ record: DocumentRecord; rendition(): Promise<Buffer> }> {
    const record = await this.readRecord(id);
    return { record, rendition: async () => buffer(await this.openBlob(id, renditionKey(record))) };
  }

  /**
   * The archive feed and search: committed documents of the caller's units in commit order (or
   * newest first), filtered in the database. `next` is the id of the page's last document, so neither it nor `hasMore`
   * reveals anything of other units; positions become visible in order (docs/metadata-store.md), so
   * no poll skips a commit.
   */
  async feed(principal: Principal, query: FeedQuery): Promise<FeedPage> {
    requireAnyRole(principal, ['export', 'audit', 'admin']);
    if (query.unit && !canSeeUnit(principal, query.unit)) {
      throw new AppError('forbidden', {
        detail: { de: `Sie gehören nicht zur Dienststelle '${query.unit}'; wählen Sie eine Ihrer Dienststellen.`, en: `You are not a member of unit '${query.unit}'; choose one of your units.` },
      });
    }
    if (query.final && query.order === 'newest') {
      // A handover goes forward so that nothing committed later is missed; backwards it would never see them.
      throw new AppError('validation_failed', {
        detail: {
          de: `'final=true' gibt Dokumente in der Reihenfolge des Eingangs ab und lässt sich nicht mit 'order=newest' verbinden. Lassen Sie 'order' weg (oder 'order=oldest').`,
          en: `'final=true' hands documents over in commit order and cannot be combined with 'order=newest'. Leave 'order' out (or use 'order=oldest').`,
        },
      });
    }
    const after = query.after ? await this.feedPosition(principal, query.after) : 0;
    // One more than asked, so `hasMore` is exact.
    const rows = await this.deps.metadata.query({
      after,
      limit: query.limit + 1,
      ...(query.order ? { order: query.order } : {}),
      units: principal.units,
      ...(query.unit ? { unit: query.unit } : {}),
      ...(query.status ? { status: query.status } : {}),
      ...(query.caseNumber ? { caseNumber: query.caseNumber } : {}),
      ...(query.q ? { words: query.q } : {}),
      ...(query.final ? { final: true } : {}),
      ...(query.capturedFrom ? { capturedFrom: query.capturedFrom } : {}),
      ...(query.capturedTo ? { capturedTo: query.capturedTo } : {}),
      ...(query.acknowledged !== undefined ? { acknowledgement: { subjectHash: subjectHash(principal.sub), acknowledged: query.acknowledged } } : {}),
    });
    return settledPage(rows, query.limit, query.after, recordOf);
  }

  /** A cursor names one of the caller's documents (also a deleted one); any other id is refused alike. */
  private feedPosition(principal: Principal, cursor: string): Promise<number> {
    return cursorPosition(cursor, (id) => this.deps.metadata.feedPosition(id, principal.units), { de: 'dieses Feeds', en: 'this feed' });
  }

  private async audit(principal: Pick<Principal, 'sub' | 'name'>, record: DocumentRecord, type: AuditEvent['type'], details: AuditEvent['details'] = {}): Promise<void> {
    await this.deps.audit.append(eventOf(principal, record, type, details));
  }

  private async create(
    principal: Principal,
    unit: string,
    request: CaptureRequest,
    id: string,
    claimHash: string | undefined,
  ): Promise<DocumentRecord> {
    const receivedAt = new Date(this.now());
    const { metadata } = request;
    const capturedAt = metadata.capturedAt ? new Date(metadata.capturedAt) : receivedAt;
    const issuingOffice = metadata.issuingOffice ?? unit;
    const enhance = enhanceOf(metadata);
    const files = request.parts.map((part, i) => ({ ...part, ...(metadata.corners?.[i] ? { corners: metadata.corners[i] } : {}) }));
    const result = await this.deps.processor.process(files, {
      enhance,
      source: metadata.source,
      sanitize: metadata.sanitize,
      marking: { classification: metadata.classification, issuingOffice, capturedAt, documentId: id },
      limits: this.deps.limits,
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
      ...(this.deps.ocr.enabled ? { textLayer: { status: 'pending' as const } } : {}),
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
    await this.commit(principal, record, request.parts, result.rendition, claimHash);
    return record;
  }

  /**
   * Blobs first, durable in the object store; then one transaction makes the document exist with its
   * feed position and its `captured` audit entry (and marks the idempotency claim done): no committed
   * document lacks its entry, and no entry names a document that never appeared.
   */
  private async commit(principal: Principal, record: DocumentRecord, parts: CapturePart[], rendition: Uint8Array, claimHash: string | undefined): Promise<void> {
    const { store, metadata } = this.deps;
    try {
      // The last use of these bytes: the sealing worker may take them over instead of a copy.
      await Promise.all([
        store.put(layout.rendition(record.id), rendition, { handOver: true }),
        ...parts.map((p, i) => store.put(layout.original(record.id, i + 1), p.bytes, { handOver: true })),
      ]);
      const captured = eventOf(principal, record, 'captured', { parts: record.originals.length, pages: record.pageCount, renditionSha256: record.rendition.sha256 });
      const ocr = record.textLayer ? { kind: OCR_JOB, documentId: record.id, payload: null, maxAttempts: this.deps.ocr.attempts, runAt: this.now() } : undefined;
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
      await this.discard(record.id);
      throw err;
    }
    // The 201 does not wait for it: this instance's workers claim the job now, any other may take it over.
    this.deps.jobs.wake();
  }

  /** Best effort; what a crash leaves behind is found later by the orphan sweep. */
  private async discard(id: string): Promise<void> {
    const { store } = this.deps;
    const keys = (await store.list({ prefix: layout.documentPrefix(id) }).catch(() => [])).map((o) => o.key);
    await Promise.all(keys.map((k) => store.delete(k).catch(() => undefined)));
  }

  private async visibleRecord(principal: Principal, id: string): Promise<DocumentRecord> {
    const record = await this.readRecord(id);
    // Another unit's document answers like a missing one, so ids cannot be probed.
    if (!canSeeUnit(principal, record.unit)) throw notFound(id);
    return record;
  }

  private async readRecord(id: string): Promise<DocumentRecord> {
    const stored = ID_PATTERN.test(id) ? await this.deps.metadata.document(id) : undefined;
    if (!stored) throw notFound(id);
    return recordOf(stored);
  }
}

function alreadyReviewed(review: TransferNote['review']): AppError {
  return new AppError('conflict', {
    detail: {
      de: `Das Dokument wurde bereits am ${review.at} geprüft (${review.status}); eine Prüfentscheidung ist endgültig.`,
      en: `The document was already ${review.status} at ${review.at}; a review decision is final.`,
    },
  });
}

function eventOf(principal: Pick<Principal, 'sub' | 'name'>, record: DocumentRecord, type: AuditEvent['type'], details: AuditEvent['details'] = {}): AuditEvent {
  return { type, documentId: record.id, unit: record.unit, actor: { sub: principal.sub, name: principal.name }, details };
}

function recordOf(stored: Pick<StoredDocument, 'body'>): DocumentRecord {
  return JSON.parse(stored.body.toString('utf8')) as DocumentRecord;
}

function serialize(record: DocumentRecord): Buffer {
  return Buffer.from(JSON.stringify(record));
}

function renditionKey(record: DocumentRecord): string {
  return record.rendition.textLayer ? layout.textRendition(record.id) : layout.rendition(record.id);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A failed run's reason for the record: our refusals say it in both languages; anything else by its kind only (no message could quote content). */
function reasonOf(err: unknown): string {
  if (err instanceof AppError && err.texts) return `${err.texts.de} / ${err.texts.en}`;
  return failedBecause(err instanceof Error ? err.name : 'Error');
}

function failedBecause(errorName: string): string {
  return `Die Texterkennung ist fehlgeschlagen (${errorName}) / text recognition failed (${errorName})`;
}

function notFound(id: string): AppError {
  return new AppError('not_found', {
    detail: { de: `Kein Dokument '${id}' ist für Sie sichtbar. Prüfen Sie die Kennung und Ihre Dienststelle.`, en: `No document '${id}' is visible to you. Check the id and your unit.` },
  });
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

/** Subjects are free-form strings; their hash is a safe key segment. */
function subjectHash(sub: string): string {
  return createHash('sha256').update(sub).digest('hex');
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
