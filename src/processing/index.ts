/**
 * Processing: bytes in, artifacts out (no storage, no HTTP). Several files become one marked PDF,
 * pages in order. Run it through the worker pool (pool.ts) in the service.
 */
import { PDFDocument } from 'pdf-lib';
import { AppError } from '../kernel/errors.ts';
import { addImagePage } from './assemble.ts';
import type { Quad } from './corners.ts';
import { createDeadline, type Deadline } from './budget.ts';
import { bulkCopyLargeStreams } from './bulk-copy.ts';
import { sha256Hex } from '../kernel/hash.ts';
import { imageToPages, type ImageResult } from './images.ts';
import { markDocument, markingTexts, markPage, type MarkFonts, type MarkingTexts } from './marking.ts';
import { a4Frame } from './page-layout.ts';
import { deleteUnreachable } from './pdf-sanitize.ts';
import { appendPdf, type AddedPages } from './pdf.ts';
import { embedMarkFonts, makeArchiveDocument } from './pdfa.ts';
import { openWithPdfjs, rasterizePage } from './rasterize.ts';
import type { PagePlan } from './rebuild.ts';
import { unmarkedPages } from './selfcheck.ts';
import { sniffMediaType, type AcceptedType } from './sniff.ts';
import type { Finding, InputFile, OriginalInfo, ProcessOptions, ProcessResult } from './types.ts';

export type * from './types.ts';
export { defaultTemplates } from './marking.ts';
export { acceptedTypes } from './sniff.ts';

interface Part {
  index: number;
  bytes: Uint8Array;
  mediaType: AcceptedType;
  sha256: string | undefined;
  corners?: Quad;
}

function assertOptions(files: InputFile[], options: ProcessOptions): void {
  const { maxPages, timeBudgetMs } = options.limits;
  if (files.length === 0) throw new AppError('validation_failed', { detail: { de: 'Senden Sie mindestens eine Datei.', en: 'Send at least one file.' } });
  if (!Number.isInteger(maxPages) || maxPages < 1) {
    throw new AppError('validation_failed', {
      detail: { de: `Für maxPages wird eine positive ganze Zahl erwartet, erhalten: ${maxPages}.`, en: `Expected a positive integer for maxPages but received ${maxPages}.` },
    });
  }
  if (!(timeBudgetMs > 0)) {
    throw new AppError('validation_failed', {
      detail: { de: `Für timeBudgetMs wird eine positive Zahl erwartet, erhalten: ${timeBudgetMs}.`, en: `Expected a positive number for timeBudgetMs but received ${timeBudgetMs}.` },
    });
  }
}

function cornersForPdf(part: number): AppError {
  return new AppError('validation_failed', {
    detail: {
      de: `Datei ${part} ist ein PDF; Ecken (metadata.corners) gelten nur für Fotos. Geben Sie für diese Datei null an.`,
      en: `File ${part} is a PDF; corners (metadata.corners) apply to photos only. Give null for this file.`,
    },
  });
}

/** Appends one part's pages to `out`, every page built here with room for its marking. */
async function addPart(out: PDFDocument, part: Part, options: ProcessOptions, pagesSoFar: number, deadline: Deadline): Promise<AddedPages> {
  const maxPages = options.limits.maxPages - pagesSoFar;
  if (part.mediaType === 'application/pdf') {
    if (part.corners) throw cornersForPdf(part.index);
    const layout = options.marking.layout ?? 'fit';
    return appendPdf(out, part.bytes, { mode: options.sanitize, part: part.index, maxPages, layout, deadline });
  }
  const hints = { camera: options.source === 'camera', ...(part.corners ? { corners: part.corners } : {}) };
  const images: ImageResult = await imageToPages(part.bytes, part.mediaType, options.enhance, part.index, maxPages, deadline, hints);
  const plans: PagePlan[] = [];
  for (const image of images.pages) {
    const sideways = image.turn === 90 || image.turn === 270;
    const { plan } = sideways ? a4Frame(image.heightPx, image.widthPx) : a4Frame(image.widthPx, image.heightPx);
    await addImagePage(out, image, plan);
    plans.push(plan);
  }
  return { plans, findings: images.findings };
}

async function save(out: PDFDocument, deadline: Deadline): Promise<Uint8Array> {
  deadline.check('saving');
  await out.flush();
  // Pages dropped for a rebuild from pixels leave objects behind: the rendition holds only what its pages reach.
  deleteUnreachable(out.context);
  bulkCopyLargeStreams(out.context);
  // Object streams make saving markedly slower with pdf-lib (STACK.md) and gain little here; no yield every 50 objects (a setTimeout each) in a worker.
  return out.save({ useObjectStreams: false, updateFieldAppearances: false, objectsPerTick: Infinity });
}

/** Replaces each failing page by its own pixels (as pdf.js renders the rendition) under a fresh marking: nothing of its structure is left to hide it. */
async function rebuildMarkedFromPixels(out: PDFDocument, rendition: Uint8Array, failing: number[], plans: PagePlan[], fonts: MarkFonts, texts: MarkingTexts): Promise<void> {
  const source = await openWithPdfjs(rendition);
  try {
    for (const i of failing) {
      const page = await rasterizePage(source, i + 1);
      const plan = plans[i]!;
      out.removePage(i);
      // The whole sheet is the image; the marking is drawn over it.
      const fullSheet: PagePlan = { ...plan, bands: { header: 0, footer: 0, scale: plan.bands.scale } };
      await addImagePage(out, { jpeg: page.jpeg, widthPx: page.widthPx, heightPx: page.heightPx, turn: 0 }, fullSheet, i);
      markPage(out.getPage(i), fonts, plan.bands, texts.header, texts.footer(i + 1, plans.length));
    }
  } finally {
    await source.destroy();
  }
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
    const mediaType = await sniffMediaType(file.bytes, file.declaredType);
    parts.push({ index: i + 1, bytes: file.bytes, mediaType, sha256: file.sha256, ...(file.corners ? { corners: file.corners as unknown as Quad } : {}) });
  }
  const out = await PDFDocument.create({ updateMetadata: false });
  const originals: OriginalInfo[] = [];
  const findings: Finding[] = [];
  const plans: PagePlan[] = [];
  for (const part of parts) {
    const added = await addPart(out, part, options, plans.length, deadline);
    findings.push(...shiftPages(added.findings, plans.length));
    originals.push({ mediaType: part.mediaType, size: part.bytes.length, sha256: part.sha256 ?? sha256Hex(part.bytes), pages: added.plans.length });
    plans.push(...added.plans);
  }
  const pageCount = plans.length;
  if (out.getPageCount() !== pageCount) throw new Error(`rendition has ${out.getPageCount()} pages, ${pageCount} planned`);
  const fonts = await embedMarkFonts(out);
  markDocument(out, fonts, plans.map((p) => p.bands), texts, deadline);
  const { capturedAt, documentId, title } = options.marking;
  makeArchiveDocument(out, { title: title ?? documentId, createdAt: capturedAt, documentId });
  let rendition = await save(out, deadline);
  deadline.check('checking the marking');
  // Pages of only an image placed here carry no uploaded operators that could hide the marking; the others are rendered.
  const toCheck = [...plans.keys()].filter((i) => plans[i]!.uploadedContent);
  const failing = toCheck.length === 0 ? [] : await unmarkedPages(rendition, plans, texts, toCheck);
  if (failing.length > 0) {
    await rebuildMarkedFromPixels(out, rendition, failing, plans, fonts, texts);
    rendition = await save(out, deadline);
    const still = await unmarkedPages(rendition, plans, texts, failing);
    if (still.length > 0) {
      throw new AppError('unprocessable', {
        detail: {
          de: `Die VS-NfD-Kennzeichnung ließ sich auf Seite ${still[0]! + 1} nicht sichtbar anbringen; das Dokument wurde nicht gespeichert. Scannen oder exportieren Sie es erneut.`,
          en: `The VS-NfD marking could not be shown visibly on page ${still[0]! + 1}; the document was not stored. Scan or export it again.`,
        },
      });
    }
    findings.push(...failing.map((i) => ({ code: 'marking_rebuilt', message: `page ${i + 1}: the marking was not visible; the page was rebuilt from pixels and marked again`, page: i + 1 })));
  }
  return { rendition, renditionSha256: sha256Hex(rendition), pageCount, originals, findings };
}
