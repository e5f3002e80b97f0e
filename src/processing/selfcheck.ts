/**
 * The marking's self-check: every page of the finished rendition is rendered with pdf.js (the viewer's
 * renderer) and its header and footer bands are compared, pixel by pixel, with a reference: that page's
 * own marking (its own "Seite n von N") drawn alone, rendered the same way at the same pixel phase. Built
 * here, the bands hold nothing but the marking on white, so a page shows its reference's pixels; a band
 * that deviates had its marking hidden, covered, blackened or moved by something the isolation missed.
 *
 * The references of all pages of one size share one reference page: its header at the top, then the
 * footers stacked upwards by whole pixels, so each renders exactly as at the bottom of its own page.
 */
import { PDFDocument } from 'pdf-lib';
import type { PDFDocumentProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { drawMarking, footerOps, headerOps, type Bands, type MarkFonts, type MarkingTexts } from './marking.ts';
import { openWithPdfjs, renderBand, type RawPage } from './rasterize.ts';
import { embedMarkFonts } from './pdfa.ts';

/** Rendered width of a page for the check (A4: 0.5 px per pt); the cost is pdf.js drawing the content, barely the pixels. */
const checkWidthPx = 300;
/** Rows the footer band gets at least (A4 at 300 px: 9), so that its text leaves ink on any page shape. */
const minFooterRows = 9;
/** Pixels of a page rendered whole; a larger one gets its two bands drawn alone. */
const maxWholePixels = 1_000_000;
/** Pixels of one reference page (under the renderer's band bound of 4 M). */
const maxReferencePixels = 3_600_000;
/** Largest deviation from the reference a band may show, as a share of the reference's ink: identical drawing deviates by nothing (measured: at most 0.0001, on a page 1 pt wide), hiding one digit of the footer by about 2%. */
const maxDeviation = 0.01;
/** White rows between stacked footers, so that no footer's anti-aliasing reaches another's rows. */
const slotGap = 2;

export interface PageBands {
  widthPt: number;
  heightPt: number;
  bands: Bands;
}

/** A page's pixel grid at the check's scale: rows of the whole page and those of its two bands. */
interface Grid {
  scale: number;
  widthPx: number;
  rows: number;
  /** Where the page's bottom edge falls relative to the last row's bottom, in pixels (-0.5 … 0.5). */
  phase: number;
  headerRows: number;
  footerRows: number;
}

function gridOf(page: PageBands): Grid {
  const scale = Math.max(checkWidthPx / page.widthPt, minFooterRows / page.bands.footer);
  const rows = Math.max(1, Math.round(page.heightPt * scale));
  // Whole rows inside each band only: the row the band's edge crosses may carry the content's anti-aliased border.
  const inside = (pt: number) => Math.max(1, Math.floor(pt * scale));
  return { scale, widthPx: page.widthPt * scale, rows, phase: page.heightPt * scale - rows, headerRows: inside(page.bands.header), footerRows: inside(page.bands.footer) };
}

/** Rows [from, to) of the page's grid (`to` ≤ grid.rows) as RGBA. */
type Rows = Uint8Array;

/** Renders rows [from, to) of page `n`'s grid: the canvas starts at a whole row, so pixels match a full render's. */
async function gridRows(doc: PDFDocumentProxy, n: number, grid: Grid, from: number, to: number): Promise<RawPage> {
  return renderBand(doc, n, grid.widthPx, { top: from / grid.scale, height: (to - from) / grid.scale });
}

function slice(raw: RawPage, from: number, to: number): Rows {
  return raw.pixels.subarray(from * raw.width * 4, to * raw.width * 4);
}

/** The two bands of rendition page `n`: one render of an ordinary page (drawing its content is most of the cost); a very tall page gets its bands drawn alone. */
async function bandsOf(doc: PDFDocumentProxy, n: number, grid: Grid): Promise<{ top: Rows; bottom: Rows }> {
  if (grid.rows * grid.widthPx > maxWholePixels) {
    const top = await gridRows(doc, n, grid, 0, grid.headerRows);
    const bottom = await gridRows(doc, n, grid, grid.rows - grid.footerRows, grid.rows);
    return { top: top.pixels, bottom: bottom.pixels };
  }
  const raw = await gridRows(doc, n, grid, 0, grid.rows);
  return { top: slice(raw, 0, grid.headerRows), bottom: slice(raw, grid.rows - grid.footerRows, grid.rows) };
}

const darkness = (p: Uint8Array, i: number) => 765 - p[i]! - p[i + 1]! - p[i + 2]!;

/** Whether `seen` shows the reference's marking: ink there, and the deviation pixel by pixel within the bound. */
function showsReference(seen: Rows, want: Rows): boolean {
  if (seen.length !== want.length) return false;
  let ink = 0;
  let deviation = 0;
  for (let i = 0; i < want.length; i += 4) {
    const wanted = darkness(want, i);
    ink += wanted;
    deviation += Math.abs(darkness(seen, i) - wanted);
  }
  // A reference without ink proves nothing: the page counts as unmarked.
  return ink > 0 && deviation <= ink * maxDeviation;
}

/** Pages of one size checked against one reference page. */
interface Group {
  page: PageBands;
  grid: Grid;
  /** 0-based rendition page indices whose footers the reference page stacks, bottom first. */
  indices: number[];
}

const footerPitch = (grid: Grid) => grid.footerRows + slotGap;

/** Pages by size, each group small enough for one reference page. */
function groupsOf(pages: PageBands[], indices: number[]): Group[] {
  const groups: Group[] = [];
  const open = new Map<string, Group>();
  for (const i of indices) {
    const page = pages[i]!;
    const key = `${page.widthPt}x${page.heightPt}x${page.bands.header}x${page.bands.footer}`;
    let group = open.get(key);
    const grid = group?.grid ?? gridOf(page);
    const full = group !== undefined && grid.headerRows + slotGap + (group.indices.length + 1) * footerPitch(grid) > maxReferencePixels / grid.widthPx;
    if (!group || full) {
      group = { page, grid, indices: [] };
      groups.push(group);
      open.set(key, group);
    }
    group.indices.push(i);
  }
  return groups;
}

const exact = (v: number) => v.toFixed(6);

/** One reference page per group: the header at the top, footer k raised by k pitches, the page's bottom at the same pixel phase as the rendition's (so its top too). */
async function referenceDocument(groups: Group[], pages: PageBands[], texts: MarkingTexts): Promise<Uint8Array> {
  const doc = await PDFDocument.create({ updateMetadata: false });
  const fonts: MarkFonts = await embedMarkFonts(doc);
  for (const { page, grid, indices } of groups) {
    const rows = grid.headerRows + slotGap + indices.length * footerPitch(grid);
    const width = page.widthPt;
    const height = (rows + grid.phase) / grid.scale;
    // The header drawn with the page's own numbers, lowered by whole pixels: its operators are the rendition's, digit for digit.
    let ops = `q 1 0 0 1 0 ${exact(height - page.heightPt)} cm\n${headerOps(fonts, page.bands, width, page.heightPt, texts.header)}Q\n`;
    for (const [k, i] of indices.entries()) {
      const footer = footerOps(fonts, page.bands, width, texts.footer(i + 1, pages.length));
      ops += `q 1 0 0 1 0 ${exact((k * footerPitch(grid)) / grid.scale)} cm\n${footer}Q\n`;
    }
    drawMarking(doc.addPage([width, height]), fonts, ops);
  }
  return doc.save({ useObjectStreams: false, objectsPerTick: Infinity });
}

/** 0-based indices of the pages (among `only`, default all) whose marking pdf.js does not show as drawn. */
export async function unmarkedPages(rendition: Uint8Array, pages: PageBands[], texts: MarkingTexts, only?: number[]): Promise<number[]> {
  const groups = groupsOf(pages, only ?? [...pages.keys()]);
  const reference = await openWithPdfjs(await referenceDocument(groups, pages, texts));
  const doc = await openWithPdfjs(rendition);
  try {
    const failing: number[] = [];
    for (const [g, { grid, indices }] of groups.entries()) {
      const rows = grid.headerRows + slotGap + indices.length * footerPitch(grid);
      const want = await gridRows(reference, g + 1, { ...grid, rows }, 0, rows);
      const wantTop = slice(want, 0, grid.headerRows);
      for (const [k, i] of indices.entries()) {
        const seen = await bandsOf(doc, i + 1, grid);
        const bottom = rows - k * footerPitch(grid);
        const headerShown = texts.header === undefined || showsReference(seen.top, wantTop);
        if (!headerShown || !showsReference(seen.bottom, slice(want, bottom - grid.footerRows, bottom))) failing.push(i);
      }
    }
    return failing.sort((a, b) => a - b);
  } finally {
    await Promise.all([doc.destroy(), reference.destroy()]);
  }
}
