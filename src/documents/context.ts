/** What every document use case gets (the dependencies with the clock and id source settled) and the record idioms they share. */
import { createHash } from 'node:crypto';
import { monotonicFactory } from 'ulid';
import { AppError } from '../kernel/errors.ts';
import { canSeeUnit, type Principal } from '../auth/principal.ts';
import type { IdempotencyKeys } from './idempotency.ts';
import type { AuditEvent, AuditLog } from '../audit/trail.ts';
import type { ManifestSigner } from './manifest.ts';
import type { MetadataStore, StoredDocument } from '../metadata/metadata-store.ts';
import type { DocumentRecord } from './records.ts';
import type { TextLayerResult } from '../processing/text-layer.ts';
import type { InputFile, ProcessOptions, ProcessResult } from '../processing/types.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { ID_PATTERN } from '../storage/layout.ts';

/** What the use cases need from processing (the worker pool implements it). */
export interface Processor {
  process(files: InputFile[], options: ProcessOptions): Promise<ProcessResult>;
  /** The rendition with its invisible OCR text layer, within `budgetMs`. */
  addTextLayer(pdf: Uint8Array, budgetMs: number): Promise<TextLayerResult>;
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

/** The dependencies as the use cases see them: one clock, and ids monotonic by it. */
export interface DocumentContext extends DocumentServiceDeps {
  now: () => number;
  newId: () => string;
}

export function documentContext(deps: DocumentServiceDeps): DocumentContext {
  const now = deps.now ?? Date.now;
  const factory = monotonicFactory();
  return { ...deps, now, newId: () => factory(now()) };
}

export async function visibleRecord(ctx: DocumentContext, principal: Principal, id: string): Promise<DocumentRecord> {
  const record = await readRecord(ctx, id);
  // Another unit's document answers like a missing one, so ids cannot be probed.
  if (!canSeeUnit(principal, record.unit)) throw notFound(id);
  return record;
}

export async function readRecord(ctx: DocumentContext, id: string): Promise<DocumentRecord> {
  const stored = ID_PATTERN.test(id) ? await ctx.metadata.document(id) : undefined;
  if (!stored) throw notFound(id);
  return recordOf(stored);
}

export async function appendAudit(ctx: DocumentContext, principal: Pick<Principal, 'sub' | 'name'>, record: DocumentRecord, type: AuditEvent['type'], details: AuditEvent['details'] = {}): Promise<void> {
  await ctx.audit.append(eventOf(principal, record, type, details));
}

export function eventOf(principal: Pick<Principal, 'sub' | 'name'>, record: DocumentRecord, type: AuditEvent['type'], details: AuditEvent['details'] = {}): AuditEvent {
  return { type, documentId: record.id, unit: record.unit, actor: { sub: principal.sub, name: principal.name }, details };
}

export function recordOf(stored: Pick<StoredDocument, 'body'>): DocumentRecord {
  return JSON.parse(stored.body.toString('utf8')) as DocumentRecord;
}

export function serialize(record: DocumentRecord): Buffer {
  return Buffer.from(JSON.stringify(record));
}

export function notFound(id: string): AppError {
  return new AppError('not_found', {
    detail: { de: `Kein Dokument '${id}' ist für Sie sichtbar. Prüfen Sie die Kennung und Ihre Dienststelle.`, en: `No document '${id}' is visible to you. Check the id and your unit.` },
  });
}

/** Subjects are free-form strings; their hash is a safe key segment. */
export function subjectHash(sub: string): string {
  return createHash('sha256').update(sub).digest('hex');
}
