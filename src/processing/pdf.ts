/** A PDF upload → a sanitized pdf-lib document, or one rebuilt from pixels when it must or cannot be kept. */
import { ParseSpeeds, PDFDocument, type PDFPage } from 'pdf-lib';
import { AppError } from '../errors.ts';
import { assertPageLimit, type Deadline } from './budget.ts';
import { addImagePage } from './assemble.ts';
import { isolateContent } from './content-isolation.ts';
import { sanitizeMessages, sanitizePdf } from './pdf-sanitize.ts';
import { openWithPdfjs, rasterizePdf } from './rasterize.ts';
import type { Finding, SanitizeMode } from './types.ts';

export interface PreparedPdf {
  doc: PDFDocument;
  findings: Finding[];
}

/** Loads with pdf-lib; undefined (with the reason) when only rasterizing can save the file. */
async function loadStructure(bytes: Uint8Array): Promise<{ doc?: PDFDocument; reason?: string }> {
  try {
    // ignoreEncryption only to read the flag: pdf-lib cannot decrypt, so an encrypted file is never kept.
    // parseSpeed Fastest: in a worker thread, pdf-lib's yield every 100 objects (a setTimeout each) is only lost time.
    const doc = await PDFDocument.load(bytes, { updateMetadata: false, ignoreEncryption: true, parseSpeed: ParseSpeeds.Fastest });
    if (doc.isEncrypted) return { reason: 'encrypted (owner password only)' };
    // Some damaged files load and fail only when their page tree is walked.
    const pages = doc.getPages();
    pages.forEach(readInheritedAttributes);
    return pages.length > 0 ? { doc } : { reason: 'no pages found in the page tree' };
  } catch (err) {
    return { reason: `structure damaged (${err instanceof Error ? err.message.slice(0, 80) : 'parse error'})` };
  }
}

/** Reads what marking reads through /Parent, so a loop there (a page its own parent) fails here, not later. */
function readInheritedAttributes(page: PDFPage): void {
  page.getRotation();
  page.getMediaBox();
  page.getCropBox();
  page.node.Resources();
}

/** Dangerzone-style rebuild: every page rendered by pdf.js at 300 dpi, then a new PDF of those images. */
async function rebuildFromPixels(bytes: Uint8Array, reason: string, part: number, maxPages: number, deadline: Deadline): Promise<PreparedPdf> {
  const source = await openWithPdfjs(bytes);
  try {
    if (source.numPages === 0) {
      throw new AppError('unprocessable', { detail: 'The PDF has no pages; send the document again with its pages.' });
    }
    assertPageLimit(source.numPages, maxPages);
    const rendered = await rasterizePdf(source, deadline);
    const doc = await PDFDocument.create();
    for (const page of rendered) {
      await addImagePage(doc, { jpeg: page.jpeg, widthPx: page.widthPx, heightPx: page.heightPx, turn: 0 }, page);
    }
    return { doc, findings: [{ code: 'rasterized', message: `rebuilt by rasterizing: ${reason}`, part, count: rendered.length }] };
  } finally {
    await source.destroy();
  }
}

export async function preparePdf(
  bytes: Uint8Array,
  mode: SanitizeMode,
  part: number,
  maxPages: number,
  deadline: Deadline,
): Promise<PreparedPdf> {
  if (mode === 'rasterize') return rebuildFromPixels(bytes, 'requested (sanitize: rasterize)', part, maxPages, deadline);
  const { doc, reason } = await loadStructure(bytes);
  if (!doc) return rebuildFromPixels(bytes, reason!, part, maxPages, deadline);
  assertPageLimit(doc.getPageCount(), maxPages);
  deadline.check('sanitizing');
  const findings = [...sanitizePdf(doc)].map(([code, count]): Finding => ({
    code,
    message: `${count} ${sanitizeMessages[code]}`,
    part,
    count,
  }));
  const unisolable = isolateContent(doc);
  if (unisolable) return rebuildFromPixels(bytes, unisolable, part, maxPages, deadline);
  return { doc, findings };
}
