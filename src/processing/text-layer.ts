/**
 * The invisible text layer: every rendition page is read by the OCR engine from one grey raster, and
 * its words are written over the page in text render mode 3 (neither filled nor stroked: the pixels do
 * not change), each word stretched to the box it was read from so that selection and search land on
 * it. A page that is one JPEG between the marking bands (a photo or scan placed here) is read from
 * that JPEG's own pixels at its own resolution, its luma decoded in-process (grey-decode.ts): it has no text
 * of its own, and the marking lies outside the image. Any other page is rendered at 300 dpi in grey by
 * poppler (pdftoppm, stdin to stdout: three times faster than pdf.js here), and words over text it
 * already carries (real text, the marking), as pdf.js places it, are not added again. The font is
 * DejaVu Sans, embedded as a subset, as PDF/A asks.
 *
 * Scans are straightened here, before they are read: a page without text of its own whose ink lines run
 * tilted by 0.3° or more is drawn turned back (a `cm` around its content, scaled so nothing reaches the
 * marking bands), and read turned back. No pixel is resampled in the rendition: the scan's image stays as
 * scanned; pages tilted less stay byte for byte.
 */
import { availableParallelism } from 'node:os';
import {
  PDFArray,
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
import type { GrayImage } from './corners.ts';
import { deskewedFinding, fitScale, measureSkew } from './deskew.ts';
import { matrixText, type Matrix } from './geometry.ts';
import { jpegLuma } from './grey-decode.ts';
import type { Pipe } from './helpers.ts';
import { maxScans, scanCount } from './jpeg.ts';
import { markingBands } from './marking.ts';
import { recognizePages, type OcrWord } from './ocr.ts';
import { readInLanes } from './ocr-lanes.ts';
import { placedJpeg } from './page-image.ts';
import { embedTextFont } from './pdfa.ts';
import { readPgm } from './pgm.ts';
import { pipeThrough } from './pipe.ts';
import { warpToPage } from './perspective.ts';
import { openWithPdfjs } from './rasterize.ts';
import type { Finding } from './types.ts';

/** DejaVu Sans descender, in em: the baseline sits this far above a line's bottom. */
const descent = 0.236;
/** A line box (ascender to descender of what is on it) is about this many em tall. */
const lineEm = 1.16;
/** Pixels of one page image handed to OCR (as rasterize.ts bounds its pages). */
const maxPagePixels = 40_000_000;
/** An embedded image below this resolution is rendered at 300 dpi instead: tesseract reads small letters better enlarged. */
const minImageDpi = 150;
/** Scans tilted less than this stay as they are: turning them would help no reader. */
const minScanSkew = 0.3;
/** Turned straight, text lines sharpen the ink's row profile by far more than this; noise barely does. */
const minSkewGain = 1.05;

export interface TextLayerOptions {
  /** Lanes, each preparing its run of pages and reading it with one tesseract process (ocr-lanes.ts); default the machine's parallelism. */
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

/** Grey pixels of (part of) a page: pixel (0, 0)'s outer corner sits at (left, top) in points (y up), `ptPerPx` points a pixel. */
interface Raster extends GrayImage {
  ptPerPx: number;
  left: number;
  top: number;
}

/** What OCR reads of a page: its raster, and the text it carries already (boxes, and that text outside the marking bands). */
interface PageInput {
  raster: Raster;
  boxes: Box[];
  text: string;
  /** The page's size in points. */
  width: number;
  height: number;
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

/** OCR words (pixels of `raster`) in page points, those over existing text left out. */
function place(words: OcrWord[], raster: Raster, existing: Box[]): PlacedWord[] {
  const { ptPerPx: s, left, top } = raster;
  const placed: PlacedWord[] = [];
  for (const w of words) {
    const box = { x0: left + w.left * s, x1: left + (w.left + w.width) * s, y0: top - (w.top + w.height) * s, y1: top - w.top * s };
    if (existing.some((e) => overlaps(e, box))) continue;
    const size = Math.max(1, (w.lineHeight * s) / lineEm);
    const baseline = top - (w.lineTop + w.lineHeight) * s + descent * size;
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

/** Paints a box (PDF points) white in a raster. */
function whiten(raster: Raster, box: Box): void {
  const { ptPerPx: s, left, top, width, height, data } = raster;
  const x0 = Math.max(0, Math.floor((box.x0 - left) / s));
  const x1 = Math.min(width, Math.ceil((box.x1 - left) / s));
  const y0 = Math.max(0, Math.floor((top - box.y1) / s));
  const y1 = Math.min(height, Math.ceil((top - box.y0) / s));
  if (x1 > x0) for (let y = y0; y < y1; y++) data.fill(255, y * width + x0, y * width + x1);
}

/** 300 dpi like a scan, less for a page so large (a receipt) that it would exceed 40 M pixels. */
function renderDpi(widthPt: number, heightPt: number): number {
  return Math.min(300, Math.floor(72 * Math.sqrt(maxPagePixels / (widthPt * heightPt))));
}

/** Page `n` (1-based) of `heightPt` points as grey pixels, rendered by pdftoppm from stdin to stdout (binary PGM). */
async function renderGray(pdf: Uint8Array, n: number, dpi: number, heightPt: number, pipe: Pipe): Promise<Raster> {
  const args = ['-gray', '-r', String(dpi), '-f', String(n), '-l', String(n), '-'];
  const out = await pipe('pdftoppm', args, pdf, { timeoutMs: 60_000, memoryBytes: 2 * 1024 ** 3, maxOutputBytes: maxPagePixels + 64, step: { de: `Das Rendern von Seite ${n} für die Texterkennung`, en: `Rendering page ${n} for text recognition` } });
  const image = readPgm(out);
  if (!image) throw new Error(`pdftoppm wrote no grey page for page ${n}`);
  return { ...image, ptPerPx: 72 / dpi, left: 0, top: heightPt };
}

/** The page's only image as grey pixels where it sits, when the page is one JPEG of at least 150 dpi between the bands and libjpeg-turbo decodes it; else undefined. */
function embeddedRaster(page: PDFPage): Raster | undefined {
  const placed = placedJpeg(page);
  if (!placed || 72 / placed.ptPerPx < minImageDpi || placed.widthPx * placed.heightPx > maxPagePixels) return undefined;
  // A scan bomb stored before captures were checked for one goes to pdftoppm, whose process the budget can kill.
  if (scanCount(placed.jpeg) > maxScans) return undefined;
  const image = jpegLuma(placed.jpeg, placed.widthPx, placed.heightPx);
  return image && { ...image, ptPerPx: placed.ptPerPx, left: placed.left, top: placed.top };
}

/** A tilted scan's turn back: by `degrees` around the centre of `box` (the area between the marking bands, in points), shrunk by `scale`. */
interface Straightening {
  degrees: number;
  scale: number;
  box: Box;
}

function contentBox(width: number, height: number): Box {
  const bands = markingBands(width, height);
  return { x0: 0, y0: bands.footer, x1: width, y1: height - bands.header };
}

/** Rows of `box` in a raster: top and bottom, in pixels from the raster's top. */
function contentRows(box: Box, raster: Raster): [number, number] {
  const { ptPerPx: s, top } = raster;
  return [Math.max(0, Math.round((top - box.y1) / s)), Math.min(raster.height, Math.round((top - box.y0) / s))];
}

/** The tilt to undo on a page whose only text is the marking (a scan); undefined when it is straight enough or its ink shows no lines. */
async function scanTilt(input: PageInput): Promise<Straightening | undefined> {
  const { raster, boxes } = input;
  const box = contentBox(input.width, input.height);
  if (boxes.some((b) => b.y1 > box.y0 + 0.5 && b.y0 < box.y1 - 0.5)) return undefined;
  const [top, bottom] = contentRows(box, raster);
  if (bottom - top < 16) return undefined;
  const skew = await measureSkew({ data: raster.data.subarray(top * raster.width, bottom * raster.width), width: raster.width, height: bottom - top });
  if (Math.abs(skew.degrees) < minScanSkew || skew.gain < minSkewGain) return undefined;
  return { degrees: skew.degrees, scale: fitScale(box.x1 - box.x0, box.y1 - box.y0, skew.degrees), box };
}

/** The content box as the straightened page will show it: the raster turned back around the box's centre, on white. */
function straightenPixels(raster: Raster, turn: Straightening): Raster {
  const { ptPerPx: s, width } = raster;
  const { box } = turn;
  const [top, bottom] = contentRows(box, raster);
  // The bands (whitened marking) must not turn into the page.
  raster.data.fill(255, 0, top * width);
  raster.data.fill(255, bottom * width);
  const out = { ptPerPx: s, left: box.x0, top: box.y1, width: Math.round((box.x1 - box.x0) / s), height: Math.round((box.y1 - box.y0) / s) };
  // The box's centre, and where the output's pixels start, in pixels of the raster.
  const [cx, cy] = [((box.x0 + box.x1) / 2 - raster.left) / s, (raster.top - (box.y0 + box.y1) / 2) / s];
  const [dx, dy] = [(out.left - raster.left) / s, (raster.top - out.top) / s];
  const t = (turn.degrees * Math.PI) / 180;
  const [cos, sin] = [Math.cos(t), Math.sin(t)];
  // Where each corner of the straight image comes from in the tilted one (y down: turning by +t is clockwise).
  const from = (x: number, y: number): readonly [number, number] => {
    const [u, v] = [x + dx - cx, y + dy - cy];
    return [cx + (cos * u - sin * v) / turn.scale, cy + (sin * u + cos * v) / turn.scale];
  };
  const quad = [from(0, 0), from(out.width, 0), from(out.width, out.height), from(0, out.height)] as const;
  return { ...out, data: warpToPage(raster, quad, out.width, out.height).data };
}

/** Wraps the page's content (every stream but the last, the marking) in the same turn back, in points (y up: counter-clockwise). */
function straightenContent(page: PDFPage, turn: Straightening): boolean {
  const contents = page.node.Contents();
  if (!(contents instanceof PDFArray) || contents.size() < 2) return false;
  const [cx, cy] = [(turn.box.x0 + turn.box.x1) / 2, (turn.box.y0 + turn.box.y1) / 2];
  const t = (turn.degrees * Math.PI) / 180;
  const [a, b, c, d] = [turn.scale * Math.cos(t), turn.scale * Math.sin(t), -turn.scale * Math.sin(t), turn.scale * Math.cos(t)];
  const m: Matrix = [a, b, c, d, cx - a * cx - c * cy, cy - b * cx - d * cy];
  const context = page.doc.context;
  contents.insert(contents.size() - 1, context.register(context.stream('Q\n')));
  contents.insert(0, context.register(context.stream(`q ${matrixText(m)} cm\n`)));
  return true;
}

/** Adds the text layer to a rendition, tilted scans straightened; pages whose every word is already text stay as they were. */
export async function addTextLayer(rendition: Uint8Array, options: TextLayerOptions): Promise<TextLayerResult> {
  const pipe = options.pipe ?? pipeThrough;
  const doc = await PDFDocument.load(rendition, { updateMetadata: false });
  // pdf.js only for pages that are not one embedded image: it finds the text they carry.
  let source: Promise<PDFDocumentProxy> | undefined;
  const rendered = async (n: number): Promise<PageInput> => {
    source ??= openWithPdfjs(rendition);
    const own = await existingText(await source, n);
    const raster = await renderGray(rendition, n, renderDpi(own.width, own.height), own.height, pipe);
    // Text the page has is not read again: cheaper, and no word of it comes back twice.
    for (const box of own.boxes) whiten(raster, box);
    return { raster, ...own };
  };
  const pages = doc.getPages();
  let perPage: Array<{ words: PlacedWord[]; text: string; turn?: Straightening }>;
  try {
    const read = await readInLanes(pages.length, options.concurrency ?? availableParallelism(), {
      prepare: async (i) => {
        options.deadline.check(`text recognition, page ${i + 1}`);
        const embedded = embeddedRaster(pages[i]!);
        const input = embedded ? { raster: embedded, boxes: [], text: '', ...pages[i]!.getSize() } : await rendered(i + 1);
        const turn = await scanTilt(input);
        const raster = turn ? straightenPixels(input.raster, turn) : input.raster;
        return { kept: { raster, boxes: input.boxes, text: input.text, turn }, image: { ...raster, dpi: 72 / raster.ptPerPx } };
      },
      read: (images) => recognizePages(images, { ...(options.languages ? { languages: options.languages } : {}), pipe }),
    });
    perPage = read.map(({ kept, words }) => ({ words: place(words, kept.raster, kept.boxes), text: kept.text, ...(kept.turn ? { turn: kept.turn } : {}) }));
  } finally {
    await source?.then((pdfjs) => pdfjs.destroy(), () => undefined);
  }
  const added = perPage.map((p) => p.words.map((w) => w.text));
  const ownText = perPage.map((p) => p.text);
  // Nothing to add or turn: the rendition stays byte for byte (and holds no unused font).
  if (perPage.every((p) => p.words.length === 0 && !p.turn)) return { pdf: rendition, pages: added, ownText, findings: [] };
  const font = await embedTextFont(doc);
  const findings: Finding[] = [];
  pages.forEach((page, i) => {
    const { words, turn } = perPage[i]!;
    // Words read turned back belong on a page drawn turned back; a page that cannot be turned gets none.
    if (turn && !straightenContent(page, turn)) return;
    if (turn) findings.push(deskewedFinding(i + 1, turn.degrees));
    if (words.length === 0) return;
    writeWords(page, font, words);
    findings.push({ code: 'text_layer_added', message: `Seite ${i + 1}: ${words.length} Wörter erkannt / page ${i + 1}: ${words.length} words recognized`, page: i + 1, count: words.length });
  });
  options.deadline.check('saving the text layer');
  const pdf = await doc.save({ useObjectStreams: false, updateFieldAppearances: false });
  return { pdf, pages: added, ownText, findings };
}
