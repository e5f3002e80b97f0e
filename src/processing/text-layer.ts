/**
 * The invisible text layer: every rendition page is rendered at 300 dpi in grey by poppler (pdftoppm,
 * stdin to stdout: three times faster than pdf.js here), read by the OCR engine, and
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
import type { Pipe } from './helpers.ts';
import { markingBands } from './marking.ts';
import { recognize, type OcrWord } from './ocr.ts';
import { pipeThrough } from './pipe.ts';
import { openWithPdfjs, type RawPage } from './rasterize.ts';
import type { Finding } from './types.ts';

const fontPath = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
/** DejaVu Sans descender, in em: the baseline sits this far above a line's bottom. */
const descent = 0.236;
/** A line box (ascender to descender of what is on it) is about this many em tall. */
const lineEm = 1.16;
/** Pixels of one page image handed to OCR (as rasterize.ts bounds its pages). */
const maxPagePixels = 40_000_000;

export interface TextLayerOptions {
  /** tesseract processes at once; default the machine's parallelism. */
  concurrency?: number;
  languages?: string;
  deadline: Deadline;
  /** Runs pdftoppm and tesseract; default in this thread (a pool worker passes the main thread's, helpers.ts). */
  pipe?: Pipe;
}

export interface TextLayerResult {
  pdf: Uint8Array;
  /** Words added per page, in reading order. */
  pages: string[][];
  /** The page's own text per page (real text, the marking bands left out): indexed for search like the added words, not added. */
  ownText: string[];
  findings: Finding[];
}

/** A box in PDF points, y up. */
interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Boxes of the text a page already carries, as pdf.js reads it, that text outside the marking bands, and the page's size in points. */
async function existingText(doc: PDFDocumentProxy, n: number): Promise<{ boxes: Box[]; text: string; width: number; height: number }> {
  const page = await doc.getPage(n);
  try {
    const { width, height } = page.getViewport({ scale: 1 });
    const content = await page.getTextContent();
    const boxes: Box[] = [];
    const bands = markingBands(width, height);
    const text: string[] = [];
    for (const item of content.items) {
      if (!('transform' in item) || item.str.trim() === '') continue;
      const [, , , d, e, f] = item.transform as number[];
      const lineHeight = Math.abs(item.height || d!);
      boxes.push({ x0: e!, y0: f! - 0.3 * lineHeight, x1: e! + item.width, y1: f! + lineHeight });
      // The marking is on every page of every document: no word to find a document by.
      if (f! >= bands.footer && f! < height - bands.header) text.push(item.str);
    }
    return { boxes, text: text.join(' '), width, height };
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

/** Paints a box (PDF points) white in a grey page image. */
function whiten(image: RawPage, box: Box, pxPerPt: number, pageHeight: number): void {
  const x0 = Math.max(0, Math.floor(box.x0 * pxPerPt));
  const x1 = Math.min(image.width, Math.ceil(box.x1 * pxPerPt));
  const y0 = Math.max(0, Math.floor((pageHeight - box.y1) * pxPerPt));
  const y1 = Math.min(image.height, Math.ceil((pageHeight - box.y0) * pxPerPt));
  for (let y = y0; y < y1; y++) image.pixels.fill(255, y * image.width + x0, y * image.width + x1);
}

/** 300 dpi like a scan, less for a page so large (a receipt) that it would exceed 40 M pixels. */
function renderDpi(widthPt: number, heightPt: number): number {
  return Math.min(300, Math.floor(72 * Math.sqrt(maxPagePixels / (widthPt * heightPt))));
}

/** Page `n` (1-based) as grey pixels, rendered by pdftoppm from stdin to stdout (binary PGM). */
async function renderGray(pdf: Uint8Array, n: number, dpi: number, pipe: Pipe): Promise<RawPage> {
  const args = ['-gray', '-r', String(dpi), '-f', String(n), '-l', String(n), '-'];
  const out = await pipe('pdftoppm', args, pdf, { timeoutMs: 60_000, memoryBytes: 2 * 1024 ** 3, maxOutputBytes: maxPagePixels + 64, step: { de: `Das Rendern von Seite ${n} für die Texterkennung`, en: `Rendering page ${n} for text recognition` } });
  const header = /^P5\s+(\d+)\s+(\d+)\s+255\s/.exec(out.subarray(0, 64).toString('latin1'));
  if (!header) throw new Error(`pdftoppm wrote no grey page for page ${n}`);
  const [whole, width, height] = [header[0].length, Number(header[1]), Number(header[2])];
  return { pixels: out.subarray(whole, whole + width * height), width, height };
}

/** Binary PGM: a header and the bytes, nothing to compress (the image only travels through a pipe). */
function pgm(image: RawPage): Uint8Array {
  const header = Buffer.from(`P5\n${image.width} ${image.height}\n255\n`, 'latin1');
  return Buffer.concat([header, image.pixels]);
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
  const ownText: string[] = [];
  try {
    const pageNumbers = Array.from({ length: source.numPages }, (_, i) => i + 1);
    perPage = await inParallel(pageNumbers, options.concurrency ?? availableParallelism(), async (n) => {
      options.deadline.check(`text recognition, page ${n}`);
      const page = await existingText(source, n);
      ownText[n - 1] = page.text;
      const dpi = renderDpi(page.width, page.height);
      const image = await renderGray(rendition, n, dpi, options.pipe ?? pipeThrough);
      const pxPerPt = dpi / 72;
      // Text the page has is not read again: cheaper, and no word of it comes back twice.
      for (const box of page.boxes) whiten(image, box, pxPerPt, page.height);
      const words = await recognize(pgm(image), { dpi, ...(options.languages ? { languages: options.languages } : {}), ...(options.pipe ? { pipe: options.pipe } : {}) });
      return place(words, pxPerPt, page.height, page.boxes);
    });
  } finally {
    await source.destroy();
  }
  const pages = perPage.map((words) => words.map((w) => w.text));
  // Nothing to add: the rendition stays byte for byte (and holds no unused font).
  if (pages.every((words) => words.length === 0)) return { pdf: rendition, pages, ownText, findings: [] };
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
  return { pdf, pages, ownText, findings };
}
