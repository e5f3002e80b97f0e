/** The OCR job after the 201: the rendition gets its invisible text layer and the page words join the search, or the document ends `failed` with the reason. */
import { buffer } from 'node:stream/consumers';
import { AppError } from '../kernel/errors.ts';
import { sha256Hex } from '../kernel/hash.ts';
import type { ClaimedJob } from '../metadata/job-store.ts';
import type { DocumentRecord } from './records.ts';
import type { TextLayerResult } from '../processing/text-layer.ts';
import { layout } from '../storage/layout.ts';
import { eventOf, recordOf, serialize, type DocumentContext } from './context.ts';
import { openBlob } from './read.ts';

/** The job that adds the text layer after the 201; queued in the capture's commit. */
export const OCR_JOB = 'document.ocr';
/** Who the audit trail names for what the OCR job changes. */
const OCR_ACTOR = { sub: 'system:ocr', name: 'Texterkennung / text recognition' };

/**
 * The OCR job's handler: the current rendition gets its text layer, stored beside the first one, then
 * the record points to it, the page words join the blind index and the audit entry is appended (one
 * transaction). Idempotent: a document no longer pending is left alone. A failure is retried; after
 * the last attempt the worker gives up (`giveUpTextLayer`).
 */
export async function addTextLayer(ctx: DocumentContext, job: Pick<ClaimedJob, 'documentId'>): Promise<void> {
  const id = job.documentId!;
  const record = await pendingRecord(ctx, id);
  if (!record) return;
  const result = await ctx.processor.addTextLayer(await buffer(await openBlob(ctx, id, layout.rendition(id))), ctx.ocr.budgetMs);
  await finishTextLayer(ctx, record, result);
}

/**
 * The OCR job's last attempt failed (`cause`) or was cut off: the document ends `failed` with the reason,
 * readable as it was. Throws when that cannot be written, so the worker tries again later.
 */
export async function giveUpTextLayer(ctx: DocumentContext, job: Pick<ClaimedJob, 'documentId' | 'lastError'>, cause?: unknown): Promise<void> {
  const record = await pendingRecord(ctx, job.documentId!);
  if (!record) return;
  const reason =
    cause !== undefined
      ? reasonOf(cause)
      : job.lastError
        ? failedBecause(job.lastError)
        : 'Die Texterkennung wurde bei jedem Versuch unterbrochen / text recognition was interrupted on every attempt';
  await failTextLayer(ctx, record, reason);
}

async function pendingRecord(ctx: DocumentContext, id: string): Promise<DocumentRecord | undefined> {
  const stored = await ctx.metadata.document(id);
  const record = stored && recordOf(stored);
  return record?.textLayer?.status === 'pending' ? record : undefined;
}

async function finishTextLayer(ctx: DocumentContext, record: DocumentRecord, result: TextLayerResult): Promise<void> {
  const { id } = record;
  const words = result.pages.flat();
  // Nothing was added (every page had its text): the first rendition stays the current one.
  const changed = words.length > 0;
  const rendition = changed ? { mediaType: 'application/pdf' as const, size: result.pdf.byteLength, sha256: sha256Hex(result.pdf), textLayer: true as const } : record.rendition;
  if (changed) await ctx.store.put(layout.textRendition(id), result.pdf);
  const at = new Date(ctx.now()).toISOString();
  const event = eventOf(OCR_ACTOR, record, 'text_layer_added', { words: words.length, previousSha256: record.rendition.sha256, renditionSha256: rendition.sha256 });
  const done = await ctx.metadata.finishTextLayer(id, 'ready', (body) => {
    const current = recordOf({ body });
    const findings = [...current.transferNote.findings, ...result.findings];
    return serialize({ ...current, rendition, textLayer: { status: 'ready', at, words: words.length }, transferNote: { ...current.transferNote, findings } });
  }, [...words, ...result.ownText].join(' '), event);
  // Deleted meanwhile: what this run wrote goes too.
  if (!done && changed && !(await ctx.metadata.isCommitted(id))) await ctx.store.delete(layout.textRendition(id));
}

async function failTextLayer(ctx: DocumentContext, record: DocumentRecord, reason: string): Promise<void> {
  const at = new Date(ctx.now()).toISOString();
  const event = eventOf(OCR_ACTOR, record, 'text_layer_failed', { reason });
  await ctx.metadata.finishTextLayer(record.id, 'failed', (body) => serialize({ ...recordOf({ body }), textLayer: { status: 'failed', at, reason } }), '', event);
}

/** A failed run's reason for the record: our refusals say it in both languages; anything else by its kind only (no message could quote content). */
function reasonOf(err: unknown): string {
  if (err instanceof AppError && err.texts) return `${err.texts.de} / ${err.texts.en}`;
  return failedBecause(err instanceof Error ? err.name : 'Error');
}

function failedBecause(errorName: string): string {
  return `Die Texterkennung ist fehlgeschlagen (${errorName}) / text recognition failed (${errorName})`;
}
