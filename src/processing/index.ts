/**
 * Processing: bytes in, artifacts out (no storage, no HTTP). Several files become one marked PDF,
 * pages in order. Run it through the worker pool (pool.ts) in the service.
 */
import { PDFDocument } from 'pdf-lib';
import { AppError } from '../errors.ts';
import { addImagePage } from './assemble.ts';
import { createDeadline, type Deadline } from './budget.ts';
import { bulkCopyLargeStreams } from './bulk-copy.ts';
import { sha256Hex } from './hash.ts';
import { imageToPages, type ImageResult } from './images.ts';
import { markDocument, markingTexts } from './marking.ts';
import { a4Frame } from './page-layout.ts';
import { preparePdf } from './pdf.ts';
import { sniffMediaType, type AcceptedType } from './sniff.ts';
import type { Finding, InputFile, OriginalInfo, ProcessOptions, ProcessResult } from './types.ts';

export type * from './types.ts';
export { defaultTemplates } from './marking.ts';
export { acceptedTypes } from './sniff.ts';

interface Part {
  index: number;
  bytes: Uint8Array;
  mediaType: AcceptedType;
}

function assertOptions(files: InputFile[], options: ProcessOptions): void {
  const { maxPages, timeBudgetMs } = options.limits;
  if (files.length === 0) throw new AppError('validation_failed', { detail: 'Send at least one file.' });
  if (!Number.isInteger(maxPages) || maxPages < 1) {
    throw new AppError('validation_failed', { detail: `Expected a positive integer for maxPages but received ${maxPages}.` });
  }
  if (!(timeBudgetMs > 0)) {
    throw new AppError('validation_failed', { detail: `Expected a positive number for timeBudgetMs but received ${timeBudgetMs}.` });
  }
}

/** Appends one part's pages to `out`; `out` is undefined until the first part, so a lone PDF is never copied. */
async function addPart(out: PDFDocument | undefined, part: Part, options: ProcessOptions, pagesSoFar: number, deadline: Deadline) {
  const remaining = options.limits.maxPages - pagesSoFar;
  if (part.mediaType === 'application/pdf') {
    const { doc, findings } = await preparePdf(part.bytes, options.sanitize, part.index, remaining, deadline);
    if (!out) return { out: doc, pages: doc.getPageCount(), findings };
    const copied = await out.copyPages(doc, doc.getPageIndices());
    copied.forEach((page) => out.addPage(page));
    return { out, pages: copied.length, findings };
  }
  const images: ImageResult = await imageToPages(part.bytes, part.mediaType, options.enhance, part.index, remaining, deadline);
  const doc = out ?? (await PDFDocument.create());
  for (const image of images.pages) {
    const sideways = image.turn === 90 || image.turn === 270;
    await addImagePage(doc, image, sideways ? a4Frame(image.heightPx, image.widthPx) : a4Frame(image.widthPx, image.heightPx));
  }
  return { out: doc, pages: images.pages.length, findings: images.findings };
}

/** Rendition page numbers for findings that were counted within their part. */
function shiftPages(findings: Finding[], offset: number): Finding[] {
  return findings.map((f) => (f.page === undefined ? f : { ...f, page: f.page + offset }));
}

export async function processDocument(files: InputFile[], options: ProcessOptions): Promise<ProcessResult> {
  assertOptions(files, options);
  const texts = markingTexts(options.marking);
  const deadline = createDeadline(options.limits.timeBudgetMs);
  const parts: Part[] = [];
  for (const [i, file] of files.entries()) {
    parts.push({ index: i + 1, bytes: file.bytes, mediaType: await sniffMediaType(file.bytes, file.declaredType) });
  }
  let out: PDFDocument | undefined;
  const originals: OriginalInfo[] = [];
  const findings: Finding[] = [];
  let pageCount = 0;
  for (const part of parts) {
    const added = await addPart(out, part, options, pageCount, deadline);
    out = added.out;
    findings.push(...shiftPages(added.findings, pageCount));
    originals.push({ mediaType: part.mediaType, size: part.bytes.length, sha256: sha256Hex(part.bytes), pages: added.pages });
    pageCount += added.pages;
  }
  const doc = out!;
  await markDocument(doc, texts, deadline);
  doc.setProducer('VS-Capture');
  doc.setCreator('VS-Capture');
  doc.setCreationDate(options.marking.capturedAt);
  doc.setModificationDate(options.marking.capturedAt);
  deadline.check('saving');
  await doc.flush();
  bulkCopyLargeStreams(doc.context);
  // Object streams make saving markedly slower with pdf-lib (STACK.md) and gain little here; no yield every 50 objects (a setTimeout each) in a worker.
  const rendition = await doc.save({ useObjectStreams: false, updateFieldAppearances: false, objectsPerTick: Infinity });
  return { rendition, renditionSha256: sha256Hex(rendition), pageCount, originals, findings };
}
