/**
 * The invisible text layer: every rendition page is rendered at 300 dpi, read by the OCR engine, and
 * its words are written over the page in text render mode 3 (neither filled nor stroked: the pixels do
 * not change), each word stretched to the box it was read from so that selection and search land on
 * it. Words over text the page already carries (real text, the marking) are not added again. The font
 * is DejaVu Sans, embedded as a subset, as PDF/A asks.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import fontkit from '@pdf-lib/fontkit';
import {
  beginText,
  endText,
  PDFDocument,
  popGraphicsState,
  pushGraphicsState,
  setFontAndSize,
  setTextMatrix,
  setTextRenderingMode,
  showText,
  TextRenderingMode,
  type PDFFont,
  type PDFPage,
} from 'pdf-lib';
import type { PDFDocumentProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { Deadline } from './budget.ts';
import { recognize, type OcrWord } from './ocr.ts';
import { openWithPdfjs, rasterizePage } from './rasterize.ts';
import type { Finding } from './types.ts';

const fontPath = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
/** DejaVu Sans descender, in em: the baseline sits this far above a line's bottom. */
const descent = 0.236;
/** A line box (ascender to descender of what is on it) is about this many em tall. */
const lineEm = 1.16;

export interface TextLayerOptions {
  /** tesseract processes at once; default the machine's parallelism. */
  concurrency?: number;
  languages?: string;
  deadline: Deadline;
}

export interface TextLayerResult {
  pdf: Uint8Array;
  /** Words added per page, in reading order (what the search index would take). */
  pages: string[][];
  findings: Finding[];
}

/** A box in PDF points, y up. */
interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Boxes of the text a page already carries, as pdf.js reads it. */
async function existingText(doc: PDFDocumentProxy, n: number): Promise<Box[]> {
  const page = await doc.getPage(n);
  try {
    const content = await page.getTextContent();
    const boxes: Box[] = [];
    for (const item of content.items) {
      if (!('transform' in item) || item.str.trim() === '') continue;
      const [, , , d, e, f] = item.transform as number[];
      const height = Math.abs(item.height || d!);
      boxes.push({ x0: e!, y0: f! - 0.3 * height, x1: e! + item.width, y1: f! + height });
    }
    return boxes;
  } finally {
    page.cleanup();
  }
}

function overlaps(a: Box, b: Box): boolean {
  return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

interface PlacedWord {
  text: string;
  box: Box;
  /** Baseline and size shared by the line. */
  baseline: number;
  size: number;
}

/** OCR words in page points, those over existing text left out. */
function place(words: OcrWord[], pxPerPt: number, pageHeight: number, existing: Box[]): PlacedWord[] {
  const placed: PlacedWord[] = [];
  for (const w of words) {
    const box = { x0: w.left / pxPerPt, x1: (w.left + w.width) / pxPerPt, y0: pageHeight - (w.top + w.height) / pxPerPt, y1: pageHeight - w.top / pxPerPt };
    if (existing.some((e) => overlaps(e, box))) continue;
    const size = Math.max(1, w.lineHeight / pxPerPt / lineEm);
    const baseline = pageHeight - (w.lineTop + w.lineHeight) / pxPerPt + descent * size;
    placed.push({ text: w.text, box, baseline, size });
  }
  return placed;
}

/** Writes the words invisibly, one text object per word, stretched to its box. */
function writeWords(page: PDFPage, font: PDFFont, words: PlacedWord[]): void {
  const key = page.node.newFontDictionary(font.name, font.ref);
  const ops = [pushGraphicsState(), beginText(), setTextRenderingMode(TextRenderingMode.Invisible)];
  for (const w of words) {
    const natural = font.widthOfTextAtSize(w.text, w.size);
    if (natural <= 0) continue;
    const stretch = (w.box.x1 - w.box.x0) / natural;
    ops.push(setFontAndSize(key, w.size), setTextMatrix(stretch, 0, 0, 1, w.box.x0, w.baseline), showText(font.encodeText(w.text)));
  }
  ops.push(endText(), popGraphicsState());
  page.pushOperators(...ops);
}

/** Runs `task` over `items` with at most `limit` running at once, results in order. */
async function inParallel<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/** Adds the text layer to a rendition; pages whose every word is already text stay as they were. */
export async function addTextLayer(rendition: Uint8Array, options: TextLayerOptions): Promise<TextLayerResult> {
  const source = await openWithPdfjs(rendition);
  let perPage: PlacedWord[][];
  try {
    const pageNumbers = Array.from({ length: source.numPages }, (_, i) => i + 1);
    perPage = await inParallel(pageNumbers, options.concurrency ?? availableParallelism(), async (n) => {
      options.deadline.check(`text recognition, page ${n}`);
      const existing = await existingText(source, n);
      const image = await rasterizePage(source, n);
      const pxPerPt = image.widthPx / image.widthPt;
      const words = await recognize(image.jpeg, { dpi: pxPerPt * 72, ...(options.languages ? { languages: options.languages } : {}) });
      return place(words, pxPerPt, image.heightPt, existing);
    });
  } finally {
    await source.destroy();
  }
  const doc = await PDFDocument.load(rendition, { updateMetadata: false });
  doc.registerFontkit(fontkit);
  const font = await doc.embedFont(readFileSync(fontPath), { subset: true });
  const findings: Finding[] = [];
  doc.getPages().forEach((page, i) => {
    const words = perPage[i]!;
    if (words.length === 0) return;
    writeWords(page, font, words);
    findings.push({ code: 'text_layer_added', message: `Seite ${i + 1}: ${words.length} Wörter erkannt / page ${i + 1}: ${words.length} words recognized`, page: i + 1, count: words.length });
  });
  options.deadline.check('saving the text layer');
  const pdf = await doc.save({ useObjectStreams: false, updateFieldAppearances: false });
  return { pdf, pages: perPage.map((words) => words.map((w) => w.text)), findings };
}
