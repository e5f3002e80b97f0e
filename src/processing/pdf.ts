/**
 * A PDF upload → pages of the rendition, built anew (rebuild.ts) from the pages a reader sees
 * (page-tree.ts); a page whose content cannot be read here or whose fonts are not embedded (PDF/A)
 * is rebuilt from pixels, and the whole file when its structure cannot be read at all.
 */
import { ParseSpeeds, PDFDocument } from 'pdf-lib';
import type { PDFDocumentProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { AppError } from '../kernel/errors.ts';
import { addImagePage } from './assemble.ts';
import { assertPageLimit, type Deadline } from './budget.ts';
import { assertStreamsBounded } from './decode.ts';
import { allFontsEmbedded } from './fonts.ts';
import { readerPages, type SourcePage } from './page-tree.ts';
import { sanitizeMessages, sanitizePdf } from './pdf-sanitize.ts';
import { openWithPdfjs, rasterizePage } from './rasterize.ts';
import { PageRebuilder, planPage, type MarkingLayout, type PagePlan } from './rebuild.ts';
import type { Finding, SanitizeMode } from './types.ts';

export interface AddedPages {
  plans: PagePlan[];
  findings: Finding[];
}

/** Loads with pdf-lib; undefined (with the reason) when only rasterizing can save the file. */
async function loadStructure(bytes: Uint8Array): Promise<{ doc?: PDFDocument; reason?: string }> {
  try {
    // ignoreEncryption only to read the flag: pdf-lib cannot decrypt, so an encrypted file is never kept.
    // parseSpeed Fastest: in a worker thread, pdf-lib's yield every 100 objects (a setTimeout each) is only lost time.
    const doc = await PDFDocument.load(bytes, { updateMetadata: false, ignoreEncryption: true, parseSpeed: ParseSpeeds.Fastest });
    return doc.isEncrypted ? { reason: 'encrypted (owner password only)' } : { doc };
  } catch (err) {
    return { reason: `structure damaged (${err instanceof Error ? err.message.slice(0, 80) : 'parse error'})` };
  }
}

/** Renders pages with pdf.js, opened once per file on first need. */
class PixelSource {
  private opened: Promise<PDFDocumentProxy> | undefined;
  constructor(private readonly bytes: Uint8Array) {}
  open(): Promise<PDFDocumentProxy> {
    this.opened ??= openWithPdfjs(this.bytes);
    return this.opened;
  }
  async addPage(out: PDFDocument, pageNumber: number, layout: MarkingLayout, deadline: Deadline): Promise<PagePlan> {
    deadline.check(`rasterizing page ${pageNumber}`);
    const page = await rasterizePage(await this.open(), pageNumber);
    const plan = planPage(page.widthPt, page.heightPt, layout);
    await addImagePage(out, { jpeg: page.jpeg, widthPx: page.widthPx, heightPx: page.heightPx, turn: 0 }, plan);
    return plan;
  }
  async close(): Promise<void> {
    if (this.opened) await (await this.opened.catch(() => undefined))?.destroy();
  }
}

/** Dangerzone-style rebuild: every page rendered by pdf.js at 300 dpi, then pages of those images. */
async function addFromPixels(out: PDFDocument, pixels: PixelSource, reason: string, part: number, maxPages: number, layout: MarkingLayout, deadline: Deadline): Promise<AddedPages> {
  const source = await pixels.open();
  if (source.numPages === 0) throw new AppError('unprocessable', {
      detail: { de: 'Das PDF hat keine Seiten; senden Sie das Dokument mit seinen Seiten erneut.', en: 'The PDF has no pages; send the document again with its pages.' },
    });
  assertPageLimit(source.numPages, maxPages);
  const plans: PagePlan[] = [];
  for (let n = 1; n <= source.numPages; n++) plans.push(await pixels.addPage(out, n, layout, deadline));
  return { plans, findings: [{ code: 'rasterized', message: `rebuilt by rasterizing: ${reason}`, part, count: plans.length }] };
}

function sanitizeFindings(doc: PDFDocument, part: number): Finding[] {
  return [...sanitizePdf(doc)].map(([code, count]): Finding => ({ code, message: `${count} ${sanitizeMessages[code]}`, part, count }));
}

/** Appends the upload's pages to `out`, each rebuilt, or rebuilt from pixels where it must be. */
export async function appendPdf(
  out: PDFDocument,
  bytes: Uint8Array,
  options: { mode: SanitizeMode; part: number; maxPages: number; layout: MarkingLayout; deadline: Deadline },
): Promise<AddedPages> {
  const { mode, part, maxPages, layout, deadline } = options;
  const pixels = new PixelSource(bytes);
  try {
    if (mode === 'rasterize') return await addFromPixels(out, pixels, 'requested (sanitize: rasterize)', part, maxPages, layout, deadline);
    const { doc, reason } = await loadStructure(bytes);
    if (!doc) return await addFromPixels(out, pixels, reason!, part, maxPages, layout, deadline);
    // Before anything decodes a stream, here or in pdf.js: a bomb is refused, never held.
    assertStreamsBounded(doc.context);
    const tree = readerPages(doc.context, maxPages);
    if (tree.pages.length === 0) return await addFromPixels(out, pixels, 'no pages found in the page tree', part, maxPages, layout, deadline);
    deadline.check('sanitizing');
    const findings = sanitizeFindings(doc, part);
    if (tree.repairs.length > 0) findings.push({ code: 'page_tree_repaired', message: `page tree read as readers show it: ${tree.repairs.join('; ')}`, part });
    return await addPages(out, doc, tree.pages, pixels, { ...options, findings });
  } finally {
    await pixels.close();
  }
}

async function addPages(
  out: PDFDocument,
  doc: PDFDocument,
  pages: SourcePage[],
  pixels: PixelSource,
  options: { part: number; layout: MarkingLayout; deadline: Deadline; findings: Finding[] },
): Promise<AddedPages> {
  const { part, layout, deadline, findings } = options;
  const rebuilder = new PageRebuilder(doc.context, out);
  const plans: PagePlan[] = [];
  let pixelPages = 0;
  for (const [i, page] of pages.entries()) {
    if (i % 50 === 0) deadline.check(`rebuilding page ${i + 1}`);
    const embedded = allFontsEmbedded(doc.context, page.resources);
    const plan = embedded ? rebuilder.addPage(page, layout) : undefined;
    if (plan) {
      plans.push(plan);
      continue;
    }
    // pdf.js must see the same pages, or its page n is not ours.
    if ((await pixels.open()).numPages !== pages.length) {
      throw new AppError('unprocessable', {
        detail: {
          de: 'Der Seitenbaum des PDF wird von verschiedenen Programmen verschieden gelesen; exportieren oder scannen Sie das Dokument erneut.',
          en: 'The PDF page tree is read differently by different readers; export or scan the document again.',
        },
      });
    }
    plans.push(await pixels.addPage(out, i + 1, layout, deadline));
    pixelPages++;
    findings.push({
      code: 'page_rasterized',
      message: `page ${i + 1} rebuilt from pixels at 300 dpi: ${embedded ? 'its content cannot be read here' : 'it uses fonts that are not embedded (PDF/A needs them)'}`,
      part,
      page: i + 1,
    });
  }
  const unclosable = rebuilder.closeNested();
  if (unclosable) {
    // Nothing partial: drop this file's pages and rebuild them all from pixels.
    for (let n = 0; n < plans.length; n++) out.removePage(out.getPageCount() - 1);
    return addFromPixels(out, pixels, unclosable, part, Number.MAX_SAFE_INTEGER, layout, deadline);
  }
  if (pixelPages > 0) findings.push({ code: 'rasterized', message: `${pixelPages} of ${pages.length} pages rebuilt from pixels`, part, count: pixelPages });
  return { plans, findings };
}
