/**
 * Content disarm by rendering (Dangerzone's approach) with pdf.js, which tolerates damaged files far
 * better than pdf-lib. Also renders single pages for the viewer.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { PDFDocumentProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { AppError } from '../kernel/errors.ts';

const pdfjsRoot = dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));

/** Rasterized pages: 300 dpi like a scan (RESISCAN), but never more than this many pixels per page. */
const rasterDpi = 300;
const maxPagePixels = 40_000_000;
/** JPEG's largest side is 65 535 px; a receipt-like page is scaled down to stay below it. */
const maxRasterSide = 65_000;

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
        detail: {
          de: 'Das PDF lässt sich nur mit Passwort öffnen; entfernen Sie den Passwortschutz und senden Sie es erneut.',
          en: 'The PDF needs a password to open; remove the password protection and send it again.',
        },
        cause: err,
      });
    }
    throw new AppError('unprocessable', {
      detail: {
        de: 'Das PDF ist nicht reparierbar beschädigt (pdf.js konnte es nicht lesen); senden Sie einen neuen Scan oder Export.',
        en: 'The PDF is damaged beyond repair (pdf.js could not read it); send a new scan or export.',
      },
      cause: err,
    });
  }
}

/** Part of the page to draw: `top` to `top + height` in points from the page's top (the self-check reads only the bands). */
interface Region {
  top: number;
  height: number;
}

/** `canvasWidth`: a fixed canvas width with the page centred in it (the viewer's pages are always as wide as asked). */
async function renderToCanvas(doc: PDFDocumentProxy, pageNumber: number, scaleFor: (w: number, h: number) => number, canvasWidth?: number, region?: Region) {
  const page = await doc.getPage(pageNumber);
  try {
    const base = page.getViewport({ scale: 1 });
    const scale = scaleFor(base.width, base.height);
    const viewport = page.getViewport({ scale });
    const width = canvasWidth ?? Math.max(1, Math.round(viewport.width));
    const height = Math.max(1, Math.round(region ? region.height * scale : viewport.height));
    const factory = doc.canvasFactory as CanvasFactory;
    const { canvas, context } = factory.create(width, height);
    // Transparent areas become white paper, as a scan would show them.
    context.fillStyle = '#ffffff';
    context.fillRect(0, 0, width, height);
    const shiftX = canvasWidth === undefined ? 0 : Math.max(0, (width - viewport.width) / 2);
    const shiftY = region ? -region.top * scale : 0;
    const transform = shiftX === 0 && shiftY === 0 ? undefined : [1, 0, 0, 1, shiftX, shiftY];
    await page.render({ canvas, canvasContext: context, viewport, annotationMode: 1, ...(transform ? { transform } : {}) }).promise;
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
  return Math.min(scale, Math.sqrt(maxPagePixels / (widthPt * heightPt)), maxRasterSide / Math.max(widthPt, heightPt));
}

/** Renders page `n` (1-based) to a 300 dpi JPEG. */
export async function rasterizePage(doc: PDFDocumentProxy, n: number): Promise<RenderedPage> {
  return renderOrRefuse(n, async () => {
    const { canvas, width, height, base } = await renderToCanvas(doc, n, rasterScale);
    const jpeg = await canvas.encode('jpeg', 88);
    return { jpeg, widthPx: width, heightPx: height, widthPt: base.width, heightPt: base.height };
  });
}

/** pdf.js opens some damaged files and fails only on a page (circular page tree, runaway nesting): the file's fault. */
async function renderOrRefuse<T>(pageNumber: number, render: () => Promise<T>): Promise<T> {
  try {
    return await render();
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('unprocessable', {
      detail: {
        de: `Seite ${pageNumber} des PDF ist nicht reparierbar beschädigt (pdf.js konnte sie nicht darstellen); senden Sie einen neuen Scan oder Export.`,
        en: `Page ${pageNumber} of the PDF is damaged beyond repair (pdf.js could not render it); send a new scan or export.`,
      },
      cause: err,
    });
  }
}

/** Pixels one band render may hold: a receipt-like page still gets its band drawn, at a bounded size. */
const maxBandPixels = 4_000_000;

/** A horizontal band of page `n` (1-based), `top`…`top + height` pt from its top, rendered about `widthPx` wide as RGBA (the self-check). */
export async function renderBand(doc: PDFDocumentProxy, n: number, widthPx: number, band: Region): Promise<RawPage> {
  return renderOrRefuse(n, async () => {
    const scaleFor = (w: number) => Math.min(widthPx / w, Math.sqrt(maxBandPixels / (w * Math.max(1, band.height))));
    const { context, width, height } = await renderToCanvas(doc, n, scaleFor, undefined, band);
    const { data } = context.getImageData(0, 0, width, height);
    return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height };
  });
}

/** Unencoded pixels: the viewer burns its watermark in and encodes once, instead of encoding here and decoding there. */
export interface RawPage {
  /** RGBA, 4 bytes a pixel, rows top to bottom. */
  pixels: Uint8Array;
  width: number;
  height: number;
}

/** WebP's largest side; a taller viewer page could not be encoded at all. */
const maxViewerHeight = 16_383;
/** Pixels of one viewer page (RGBA, so 4 bytes each): the bound on what one request may make the renderer hold. */
const maxViewerPixels = 16_000_000;

/** Scale for a viewer page: `widthPx` wide, unless the page is so tall that its height would break the pixel bound; then it fits that height. */
export function viewerScale(widthPt: number, heightPt: number, widthPx: number): number {
  const maxHeight = Math.min(maxViewerHeight, Math.floor(maxViewerPixels / widthPx));
  return Math.min(widthPx / widthPt, maxHeight / heightPt);
}

/** One page (0-based) rendered `widthPx` wide, for the viewer; a very tall page (a receipt) is scaled to the height bound and centred. */
export async function renderPdfPage(pdf: Uint8Array, pageIndex: number, widthPx: number): Promise<RawPage> {
  if (!Number.isInteger(widthPx) || widthPx < 16 || widthPx > 4096) {
    throw new AppError('bad_request', {
      detail: { de: `Erwartet wird eine ganzzahlige Breite von 16 bis 4096 px, erhalten: ${widthPx}.`, en: `Expected an integer width from 16 to 4096 px but received ${widthPx}.` },
    });
  }
  const doc = await openWithPdfjs(pdf);
  try {
    if (!Number.isInteger(pageIndex) || pageIndex < 0 || pageIndex >= doc.numPages) {
      throw new AppError('not_found', {
        detail: { de: `Seite ${pageIndex + 1} gibt es nicht; das Dokument hat ${doc.numPages}.`, en: `Page ${pageIndex + 1} does not exist; the document has ${doc.numPages}.` },
      });
    }
    const { context, width, height } = await renderToCanvas(doc, pageIndex + 1, (w, h) => viewerScale(w, h, widthPx), widthPx);
    const { data } = context.getImageData(0, 0, width, height);
    return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height };
  } finally {
    await doc.destroy();
  }
}
