/**
 * The marking's self-check: every page of the finished rendition is rendered with pdf.js (the viewer's
 * renderer) and the ink in its header and footer bands is compared with the same marking drawn alone
 * on a blank page of the same size. A page whose bands show less than `minShare` of that ink had its
 * marking hidden by something the isolation missed.
 */
import { PDFDocument } from 'pdf-lib';
import type { PDFDocumentProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { markPage, type Bands, type MarkFonts, type MarkingTexts } from './marking.ts';
import { openWithPdfjs, renderBand } from './rasterize.ts';
import { embedMarkFonts } from './pdfa.ts';

/** Rendered width of a page for the check: enough for 7 pt text to leave ink (A4: 0.5 px per pt). */
const checkWidthPx = 300;
/** Share of the reference's ink a band must show; digits of the page number differ between pages. */
const minShare = 0.6;

export interface PageBands {
  widthPt: number;
  heightPt: number;
  bands: Bands;
}

interface Ink {
  top: number;
  bottom: number;
}

/** Dark pixels of one rendered band. */
async function bandInk(doc: PDFDocumentProxy, n: number, top: number, height: number): Promise<number> {
  const raw = await renderBand(doc, n, checkWidthPx, { top, height });
  return darkRows(raw, 0, raw.height);
}

/** Dark pixels in rows [from, to) of an RGBA render. */
function darkRows(raw: { pixels: Uint8Array; width: number }, from: number, to: number): number {
  let count = 0;
  for (let i = from * raw.width * 4; i < to * raw.width * 4; i += 4) if (raw.pixels[i]! + raw.pixels[i + 1]! + raw.pixels[i + 2]! < 384) count++;
  return count;
}

/** One render of the page when it is of ordinary size (drawing its content is most of the cost); a very tall page gets its two bands drawn alone, on canvases that size. */
async function inkOf(doc: PDFDocumentProxy, n: number, page: PageBands): Promise<Ink> {
  const { header, footer } = page.bands;
  const scale = checkWidthPx / page.widthPt;
  if (page.heightPt * scale > 4 * checkWidthPx) {
    return { top: await bandInk(doc, n, 0, header), bottom: await bandInk(doc, n, page.heightPt - footer, footer) };
  }
  const raw = await renderBand(doc, n, checkWidthPx, { top: 0, height: page.heightPt });
  const rows = (pt: number) => Math.max(1, Math.floor((pt * raw.height) / page.heightPt));
  return { top: darkRows(raw, 0, rows(header)), bottom: darkRows(raw, raw.height - rows(footer), raw.height) };
}

const sizeKey = (p: PageBands) => `${p.widthPt.toFixed(2)}x${p.heightPt.toFixed(2)}`;

/** The marking alone on a blank page of each distinct size, rendered: what the bands must show. */
async function referenceInk(pages: PageBands[], texts: MarkingTexts): Promise<Map<string, Ink>> {
  const doc = await PDFDocument.create({ updateMetadata: false });
  const fonts: MarkFonts = await embedMarkFonts(doc);
  const distinct = [...new Map(pages.map((p) => [sizeKey(p), p])).values()];
  for (const p of distinct) markPage(doc.addPage([p.widthPt, p.heightPt]), fonts, p.bands, texts.header, texts.footer(1, pages.length));
  const rendered = await openWithPdfjs(await doc.save());
  try {
    const ink = new Map<string, Ink>();
    for (const [i, p] of distinct.entries()) ink.set(sizeKey(p), await inkOf(rendered, i + 1, p));
    return ink;
  } finally {
    await rendered.destroy();
  }
}

/** 0-based indices of the pages (among `only`, default all) whose marking pdf.js does not show. */
export async function unmarkedPages(rendition: Uint8Array, pages: PageBands[], texts: MarkingTexts, only?: number[]): Promise<number[]> {
  const reference = await referenceInk(pages, texts);
  const doc = await openWithPdfjs(rendition);
  try {
    const failing: number[] = [];
    for (const i of only ?? pages.keys()) {
      const want = reference.get(sizeKey(pages[i]!))!;
      const seen = await inkOf(doc, i + 1, pages[i]!);
      const headerShown = texts.header === undefined || seen.top >= want.top * minShare;
      if (!headerShown || seen.bottom < want.bottom * minShare) failing.push(i);
    }
    return failing;
  } finally {
    await doc.destroy();
  }
}
