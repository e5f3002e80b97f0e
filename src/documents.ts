import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { decodeTime, monotonicFactory } from 'ulid';
import { AppError } from './errors.ts';
import { canSeeUnit, requireAnyRole, requireRole, type Principal, type Role } from './auth/principal.ts';
import { enhanceOf, type CaptureMetadata, type Enhance } from './metadata.ts';
import type { IdempotencyKeys } from './idempotency.ts';
import type { AuditEvent, AuditLog } from './audit/trail.ts';
import type { ManifestSigner } from './crypto/manifest.ts';
import type { Finding, InputFile, ProcessOptions, ProcessResult } from './processing/types.ts';
import { ObjectNotFoundError, type ByteRange, type ObjectStore } from './storage/object-store.ts';
import { cursorAtHorizon, ID_PATTERN, layout, ulidFloor } from './storage/layout.ts';
import { walk } from './storage/walk.ts';

/** What the use cases need from processing (the worker pool implements it). */
export interface Processor {
  process(files: InputFile[], options: ProcessOptions): Promise<ProcessResult>;
}

/** One uploaded part after decryption, with how it arrived. */
export interface CapturePart extends InputFile {
  /** JWE header facts when the part arrived encrypted; absent for raw parts. */
  jwe?: { alg: string; kid: string };
}

export interface TransferNote {
  capturedBy: { sub: string; name: string };
  capturedAt: string;
  receivedAt: string;
  source: CaptureMetadata['source'];
  device?: CaptureMetadata['device'];
  settings: { enhance: Enhance; sanitize: CaptureMetadata['sanitize'] };
  transport: { encryptedParts: number; plainParts: number; metadataEncrypted: boolean };
  findings: Finding[];
  review: { status: 'pending' | 'approved' | 'rejected'; by?: { sub: string; name: string }; at?: string; note?: string };
}

/** The committed record of a document; its presence in the store is what makes a document exist. */
export interface DocumentRecord {
  id: string;
  formatVersion: 1;
  unit: string;
  title: string;
  caseNumber?: string;
  classification: CaptureMetadata['classification'];
  issuingOffice: string;
  createdAt: string;
  pageCount: number;
  rendition: { mediaType: 'application/pdf'; size: number; sha256: string };
  originals: Array<{ part: number; mediaType: string; size: number; sha256: string; pages: number; encrypted: boolean }>;
  transferNote: TransferNote;
}

export interface CaptureRequest {
  metadata: CaptureMetadata;
  metadataEncrypted: boolean;
  parts: CapturePart[];
  idempotencyKey?: string;
}

export interface FeedQuery {
  after?: string;
  limit: number;
  unit?: string;
  caseNumber?: string;
  status?: TransferNote['review']['status'];
  /** false: only documents the caller has not acknowledged yet. */
  acknowledged?: boolean;
}

/** An export client's statement that its archive took the document over. */
export interface Acknowledgement {
  documentId: string;
  by: { sub: string; name: string };
  at: string;
  /** The archive's own reference, e.g. the E-Akte object id. */
  reference?: string;
}

export interface FeedPage {
  items: DocumentRecord[];
  /** Continue from here next time: the last item's position, or the settle horizon when up to date. */
  next: string | null;
  hasMore: boolean;
}

export interface DocumentServiceDeps {
  store: ObjectStore;
  processor: Processor;
  idempotency: IdempotencyKeys;
  limits: { maxPages: number; timeBudgetMs: number };
  /** Feed entries younger than this are not served yet, so slower concurrent commits are never skipped. */
  feedSettleMs: number;
  audit: AuditLog;
  manifests: Pick<ManifestSigner, 'sign'>;
  /** Documents younger than this cannot be deleted; 0: none. */
  retentionMs: number;
  now?: () => number;
}

const READ_ROLES: Role[] = ['read', 'export', 'review', 'audit', 'admin'];

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
    if (!request.idempotencyKey) return { record: await this.create(principal, unit, request, id), replayed: false };
    const claim = await this.deps.idempotency.claim(principal.sub, request.idempotencyKey, fingerprint(request), id, (doc) => this.committed(doc));
    if (claim.kind === 'replay') return { record: await this.readRecord(claim.documentId), replayed: true };
    try {
      const record = await this.create(principal, unit, request, id);
      await claim.complete();
      return { record, replayed: false };
    } catch (err) {
      await claim.release().catch(() => undefined);
      throw err;
    }
  }

  async get(principal: Principal, id: string): Promise<DocumentRecord> {
    requireAnyRole(principal, READ_ROLES);
    return this.visibleRecord(principal, id);
  }

  /** The rendition or an original as stored; role `export`. `open` streams it, optionally a byte range. */
  async content(
    principal: Principal,
    id: string,
    which: { variant: 'rendition' } | { variant: 'original'; part: number },
  ): Promise<{ mediaType: string; size: number; sha256: string; open(range?: ByteRange): Promise<Readable> }> {
    requireRole(principal, 'export');
    const record = await this.visibleRecord(principal, id);
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
    const key = which.variant === 'rendition' ? layout.rendition(id) : layout.original(id, part);
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

  /** The signed manifest (compact JWS) of the document's integrity evidence; role `export` or `audit`. */
  async manifest(principal: Principal, id: string): Promise<string> {
    requireAnyRole(principal, ['export', 'audit']);
    const record = await this.visibleRecord(principal, id);
    await this.audit(principal, record, 'manifest_exported');
    return this.deps.manifests.sign(record);
  }

  /**
   * Quality review (BSI TR-03138) by role `review`: the decision is final. The record is rewritten in
   * one put (atomic per object); two reviewers racing both land in the audit trail, the last put wins.
   */
  async review(principal: Principal, id: string, review: { decision: 'approved' | 'rejected'; note?: string }): Promise<DocumentRecord> {
    requireRole(principal, 'review');
    const record = await this.visibleRecord(principal, id);
    const current = record.transferNote.review;
    if (current.status !== 'pending') {
      throw new AppError('conflict', {
        detail: {
          de: `Das Dokument wurde bereits am ${current.at} geprüft (${current.status}); eine Prüfentscheidung ist endgültig.`,
          en: `The document was already ${current.status} at ${current.at}; a review decision is final.`,
        },
      });
    }
    const reviewed: DocumentRecord = {
      ...record,
      transferNote: {
        ...record.transferNote,
        review: {
          status: review.decision,
          by: { sub: principal.sub, name: principal.name },
          at: new Date(this.now()).toISOString(),
          ...(review.note !== undefined ? { note: review.note } : {}),
        },
      },
    };
    await this.audit(principal, record, 'reviewed', { decision: review.decision, ...(review.note !== undefined ? { note: review.note } : {}) });
    await this.deps.store.put(layout.record(id), Buffer.from(JSON.stringify(reviewed)));
    await this.takeBackIfDeleted(id, layout.record(id));
    return reviewed;
  }

  /** Role `export`: the caller's archive took the document over. Repeating it returns the first acknowledgement. */
  async acknowledge(principal: Principal, id: string, reference: string | undefined): Promise<{ acknowledgement: Acknowledgement; created: boolean }> {
    requireRole(principal, 'export');
    const record = await this.visibleRecord(principal, id);
    const key = layout.acknowledgement(id, subjectHash(principal.sub));
    const existing = await this.deps.store.getBuffer(key).catch((err: unknown) => {
      if (err instanceof ObjectNotFoundError) return undefined;
      throw err;
    });
    if (existing) return { acknowledgement: JSON.parse(existing.toString('utf8')) as Acknowledgement, created: false };
    const acknowledgement: Acknowledgement = {
      documentId: id,
      by: { sub: principal.sub, name: principal.name },
      at: new Date(this.now()).toISOString(),
      ...(reference !== undefined ? { reference } : {}),
    };
    await this.audit(principal, record, 'acknowledged', reference !== undefined ? { reference } : {});
    await this.deps.store.put(key, Buffer.from(JSON.stringify(acknowledgement)));
    await this.takeBackIfDeleted(id, key);
    return { acknowledgement, created: true };
  }

  /** A deletion that ran meanwhile must not be undone (or outlived) by a write under the document: remove it again. */
  private async takeBackIfDeleted(id: string, key: string): Promise<void> {
    if (!(await this.exists(layout.deleted(id)))) return;
    await this.deps.store.delete(key);
    throw notFound(id);
  }

  /**
   * Role `admin`, after the retention period: the audit entry first (no deletion without one), then a
   * removal marker, the record (the document disappears in one step), then the blobs. The trail stays.
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
    const { store } = this.deps;
    await this.audit(principal, record, 'deleted', { reason });
    await store.put(layout.deleted(id), Buffer.from(JSON.stringify({ id, unit: record.unit, at: new Date(this.now()).toISOString() })));
    await store.delete(layout.record(id));
    await this.deleteBlobs(id);
  }

  /** A repeated DELETE after one interrupted past the record removes what is left (answering 204 again). */
  private async finishInterruptedDeletion(principal: Principal, id: string): Promise<boolean> {
    if (!ID_PATTERN.test(id) || (await this.committed(id))) return false;
    const marker = await this.deps.store.getBuffer(layout.deleted(id)).catch(notFoundAs(undefined));
    if (!marker || !canSeeUnit(principal, (JSON.parse(marker.toString('utf8')) as { unit: string }).unit)) return false;
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
    return { record, rendition: async () => buffer(await this.openBlob(id, layout.rendition(id))) };
  }

  /**
   * The archive feed: committed documents of the caller's units, oldest commit first. The scan runs
   * until the page is full or reaches the settle horizon, and the cursor is the caller's own last item
   * or the horizon (a time, not an entry), so neither page sizes nor cursors reveal other units' documents.
   */
  async feed(principal: Principal, query: FeedQuery): Promise<FeedPage> {
    requireAnyRole(principal, ['export', 'audit', 'admin']);
    if (query.unit && !canSeeUnit(principal, query.unit)) {
      throw new AppError('forbidden', {
        detail: { de: `Sie gehören nicht zur Dienststelle '${query.unit}'; wählen Sie eine Ihrer Dienststellen.`, en: `You are not a member of unit '${query.unit}'; choose one of your units.` },
      });
    }
    // Entries below the horizon's millisecond have settled.
    const settledBefore = this.now() - this.deps.feedSettleMs;
    const horizon = ulidFloor(settledBefore);
    const items: DocumentRecord[] = [];
    const seen = new Set<string>();
    let last: string | undefined;
    for await (const entry of walk(this.deps.store, layout.feedPrefix, query.after ? layout.feedEntry(query.after) : undefined)) {
      const seq = seqOf(entry.key);
      if (seq >= horizon) break;
      const record = await this.recordOfFeedEntry(principal, entry.key);
      if (!record || seen.has(record.id) || !matches(principal, record, query)) continue;
      if (query.acknowledged !== undefined && (await this.acknowledgedBy(principal, record.id)) !== query.acknowledged) continue;
      if (items.length === query.limit) return { items, next: last!, hasMore: true };
      seen.add(record.id);
      items.push(record);
      last = seq;
    }
    return { items, next: cursorAtHorizon(settledBefore, query.after), hasMore: false };
  }

  private async audit(principal: Principal, record: DocumentRecord, type: AuditEvent['type'], details: AuditEvent['details'] = {}): Promise<void> {
    await this.deps.audit.append({ type, documentId: record.id, unit: record.unit, actor: { sub: principal.sub, name: principal.name }, details });
  }

  private acknowledgedBy(principal: Principal, id: string): Promise<boolean> {
    return this.exists(layout.acknowledgement(id, subjectHash(principal.sub)));
  }

  private async exists(key: string): Promise<boolean> {
    try {
      await this.deps.store.head(key);
      return true;
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return false;
      throw err;
    }
  }

  private async create(principal: Principal, unit: string, request: CaptureRequest, id: string): Promise<DocumentRecord> {
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
    await this.commit(principal, record, request.parts, result.rendition);
    return record;
  }

  /**
   * Blobs first, then the `captured` audit entry, the feed entry, and the record that makes the
   * document exist: no committed document without its audit entry, even after a crash (audit fails
   * closed). A failure after the entry leaves a `captured` entry of a document that never appeared.
   */
  private async commit(principal: Principal, record: DocumentRecord, parts: CapturePart[], rendition: Uint8Array): Promise<void> {
    const { store } = this.deps;
    let seq: string | undefined;
    let late = false;
    try {
      await Promise.all([
        store.put(layout.rendition(record.id), rendition),
        ...parts.map((p, i) => store.put(layout.original(record.id, i + 1), p.bytes)),
      ]);
      await this.audit(principal, record, 'captured', { parts: record.originals.length, pages: record.pageCount, renditionSha256: record.rendition.sha256 });
      // The feed position is taken after the blobs, so the settle window covers two small writes, not the upload.
      seq = this.newId();
      await store.put(layout.feedEntry(seq), feedEntryBody(record));
      // An entry that landed after its settle window may already lie behind a poll's horizon cursor, unseen.
      late = this.deps.feedSettleMs > 0 && this.now() - decodeTime(seq) >= this.deps.feedSettleMs;
      await store.put(layout.record(record.id), Buffer.from(JSON.stringify(record)));
    } catch (err) {
      await this.discard(record.id, seq);
      throw err;
    }
    // A poll passed the entry before the record existed (it left a marker), or may have passed it unseen: announce again, once.
    if (late || (await this.exists(layout.feedPassed(seq)))) {
      await store.put(layout.feedEntry(this.newId()), feedEntryBody(record));
      await store.delete(layout.feedPassed(seq));
    }
  }

  /** Best effort; what a crash leaves behind is found later by the orphan sweep. */
  private async discard(id: string, seq: string | undefined): Promise<void> {
    const { store } = this.deps;
    const keys = [...(seq ? [layout.feedEntry(seq)] : []), ...(await store.list({ prefix: layout.documentPrefix(id) }).catch(() => [])).map((o) => o.key)];
    await Promise.all(keys.map((k) => store.delete(k).catch(() => undefined)));
  }

  /**
   * The record a settled entry names, if the caller may see it (entries name their unit, so other
   * units' records are not even read). Without a record, the poll leaves a passed-marker before it looks
   * once more: a commit still in flight sees the marker after its record put and announces itself again.
   */
  private async recordOfFeedEntry(principal: Principal, key: string): Promise<DocumentRecord | undefined> {
    const entry = await this.deps.store.getBuffer(key).catch(notFoundAs(undefined));
    if (!entry) return undefined;
    const { id, unit } = JSON.parse(entry.toString('utf8')) as { id: string; unit?: string };
    if (unit !== undefined && !canSeeUnit(principal, unit)) return undefined;
    const record = await this.readRecord(id).catch(notFoundAs(undefined));
    if (record || (await this.exists(layout.deleted(id)))) return record;
    await this.deps.store.put(layout.feedPassed(seqOf(key)), Buffer.from('{}'));
    // Still none: an interrupted commit, a deleted document, or one whose commit will announce it again.
    return this.readRecord(id).catch(notFoundAs(undefined));
  }

  private async visibleRecord(principal: Principal, id: string): Promise<DocumentRecord> {
    const record = await this.readRecord(id);
    // Another unit's document answers like a missing one, so ids cannot be probed.
    if (!canSeeUnit(principal, record.unit)) throw notFound(id);
    return record;
  }

  /** Whether a document's record exists, i.e. its capture committed. */
  private committed(id: string): Promise<boolean> {
    return this.exists(layout.record(id));
  }

  private async readRecord(id: string): Promise<DocumentRecord> {
    if (!ID_PATTERN.test(id)) throw notFound(id);
    try {
      return JSON.parse((await this.deps.store.getBuffer(layout.record(id))).toString('utf8')) as DocumentRecord;
    } catch (err) {
      if (err instanceof ObjectNotFoundError) throw notFound(id);
      throw err;
    }
  }
}

/** For `.catch`: a missing object or document becomes `value`; anything else still throws. */
function notFoundAs<T>(value: T): (err: unknown) => T {
  return (err) => {
    if (err instanceof ObjectNotFoundError || (err instanceof AppError && err.code === 'not_found')) return value;
    throw err;
  };
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
  if (!unit) throw new AppError('forbidden', {
      detail: { de: 'Ihr Konto gehört zu keiner Dienststelle; wenden Sie sich an Ihre Administration.', en: 'Your account belongs to no unit (Dienststelle); ask your administrator.' },
    });
  return unit;
}

function matches(principal: Principal, record: DocumentRecord, query: FeedQuery): boolean {
  return (
    canSeeUnit(principal, record.unit) &&
    (!query.unit || record.unit === query.unit) &&
    (!query.caseNumber || record.caseNumber === query.caseNumber) &&
    (!query.status || record.transferNote.review.status === query.status)
  );
}

/** Subjects are free-form strings; their hash is a safe key segment. */
function subjectHash(sub: string): string {
  return createHash('sha256').update(sub).digest('hex');
}

function feedEntryBody(record: DocumentRecord): Buffer {
  return Buffer.from(JSON.stringify({ id: record.id, unit: record.unit }));
}

function seqOf(feedKey: string): string {
  return feedKey.slice(layout.feedPrefix.length);
}

/** Corners are given per file part: not for more files than were sent. */
function assertCornersFit(request: CaptureRequest): void {
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
  for (const part of request.parts) hash.update(createHash('sha256').update(part.bytes).digest());
  return hash.digest('hex');
}
