/**
 * Content disarm by rendering (Dangerzone's approach) with pdf.js, which tolerates damaged files far
 * better than pdf-lib. Also renders single pages for the viewer.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { PDFDocumentProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { AppError } from '../errors.ts';
import type { Deadline } from './budget.ts';

const pdfjsRoot = dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));

/** Rasterized pages: 300 dpi like a scan (RESISCAN), but never more than this many pixels per page. */
const rasterDpi = 300;
const maxPagePixels = 40_000_000;

export interface RenderedPage {
  jpeg: Uint8Array;
  widthPx: number;
  heightPx: number;
  /** Size as the reader saw the page (rotation applied), in points. */
  widthPt: number;
  heightPt: number;
}

function passwordNeeded(err: unknown): boolean {
  return err instanceof Error && err.name === 'PasswordException';
}

/** Opens with pdf.js: no scripting, no eval, no XFA; a user password is refused with encrypted_pdf. */
export async function openWithPdfjs(bytes: Uint8Array): Promise<PDFDocumentProxy> {
  // Loaded on first use: the happy path never needs pdf.js, and a process started for one document saves ~90 ms.
  const { getDocument } = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const task = getDocument({
    // pdf.js takes ownership of the buffer it is given; hand it a copy.
    data: new Uint8Array(bytes),
    standardFontDataUrl: join(pdfjsRoot, 'standard_fonts/'),
    cMapUrl: join(pdfjsRoot, 'cmaps/'),
    cMapPacked: true,
    isEvalSupported: false,
    enableXfa: false,
    stopAtErrors: false,
    verbosity: 0,
  });
  let passwordAsked = false;
  // Without a handler pdf.js waits for a password forever; we have none to give.
  task.onPassword = () => {
    passwordAsked = true;
    void task.destroy();
  };
  try {
    return await task.promise;
  } catch (err) {
    if (passwordAsked || passwordNeeded(err)) {
      throw new AppError('encrypted_pdf', {
        detail: 'The PDF needs a password to open; remove the password protection and send it again.',
        cause: err,
      });
    }
    throw new AppError('unprocessable', {
      detail: 'The PDF is damaged beyond repair (pdf.js could not read it); send a new scan or export.',
      cause: err,
    });
  }
}

async function renderToCanvas(doc: PDFDocumentProxy, pageNumber: number, scaleFor: (w: number, h: number) => number) {
  const page = await doc.getPage(pageNumber);
  try {
    const base = page.getViewport({ scale: 1 });
    const viewport = page.getViewport({ scale: scaleFor(base.width, base.height) });
    const width = Math.max(1, Math.round(viewport.width));
    const height = Math.max(1, Math.round(viewport.height));
    const factory = doc.canvasFactory as CanvasFactory;
    const { canvas, context } = factory.create(width, height);
    // Transparent areas become white paper, as a scan would show them.
    context.fillStyle = '#ffffff';
    context.fillRect(0, 0, width, height);
    await page.render({ canvas, canvasContext: context, viewport, annotationMode: 1 }).promise;
    return { canvas, context, width, height, base };
  } finally {
    page.cleanup();
  }
}

interface NodeCanvas {
  encode(format: 'jpeg' | 'webp', quality: number): Promise<Buffer>;
}
interface CanvasFactory {
  create(w: number, h: number): { canvas: NodeCanvas & HTMLCanvasElement; context: CanvasRenderingContext2D };
}

function rasterScale(widthPt: number, heightPt: number): number {
  const scale = rasterDpi / 72;
  return Math.min(scale, Math.sqrt(maxPagePixels / (widthPt * heightPt)));
}

/** Renders every page to a 300 dpi JPEG; refuses before rendering when the page limit is exceeded. */
export async function rasterizePdf(doc: PDFDocumentProxy, deadline: Deadline): Promise<RenderedPage[]> {
  const pages: RenderedPage[] = [];
  for (let n = 1; n <= doc.numPages; n++) {
    deadline.check(`rasterizing page ${n}`);
    pages.push(await renderOrRefuse(n, async () => {
      const { canvas, width, height, base } = await renderToCanvas(doc, n, rasterScale);
      const jpeg = await canvas.encode('jpeg', 88);
      return { jpeg, widthPx: width, heightPx: height, widthPt: base.width, heightPt: base.height };
    }));
  }
  return pages;
}

/** pdf.js opens some damaged files and fails only on a page (circular page tree, runaway nesting): the file's fault. */
async function renderOrRefuse<T>(pageNumber: number, render: () => Promise<T>): Promise<T> {
  try {
    return await render();
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('unprocessable', {
      detail: `Page ${pageNumber} of the PDF is damaged beyond repair (pdf.js could not render it); send a new scan or export.`,
      cause: err,
    });
  }
}

/** Unencoded pixels: the viewer burns its watermark in and encodes once, instead of encoding here and decoding there. */
export interface RawPage {
  /** RGBA, 4 bytes a pixel, rows top to bottom. */
  pixels: Uint8Array;
  width: number;
  height: number;
}

/** One page (0-based) rendered `widthPx` wide, for the viewer. */
export async function renderPdfPage(pdf: Uint8Array, pageIndex: number, widthPx: number): Promise<RawPage> {
  if (!Number.isInteger(widthPx) || widthPx < 16 || widthPx > 4096) {
    throw new AppError('bad_request', { detail: `Expected an integer width from 16 to 4096 px but received ${widthPx}.` });
  }
  const doc = await openWithPdfjs(pdf);
  try {
    if (!Number.isInteger(pageIndex) || pageIndex < 0 || pageIndex >= doc.numPages) {
      throw new AppError('not_found', { detail: `Page ${pageIndex + 1} does not exist; the document has ${doc.numPages}.` });
    }
    const { context, width, height } = await renderToCanvas(doc, pageIndex + 1, (w) => widthPx / w);
    const { data } = context.getImageData(0, 0, width, height);
    return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height };
  } finally {
    await doc.destroy();
  }
}
