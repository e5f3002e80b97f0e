/**
 * VS-NfD marking (VSA 2023): level at the top of every page, footer with office, date, "Seite n von N", id.
 * Drawn in "reader space" (upright as the page is seen) and mapped into the page's user space, so it
 * stays upright and visible for any /Rotate, CropBox offset, MediaBox origin and UserUnit.
 */
import {
  PDFContentStream,
  PDFName,
  PDFNumber,
  StandardFonts,
  beginText,
  concatTransformationMatrix,
  endText,
  moveText,
  popGraphicsState,
  pushGraphicsState,
  setFillingRgbColor,
  setFontAndSize,
  showText,
  type PDFDocument,
  type PDFFont,
  type PDFOperator,
  type PDFPage,
} from 'pdf-lib';
import { AppError } from '../errors.ts';
import type { Deadline } from './budget.ts';
import type { Classification, MarkingOptions, MarkingTemplates } from './types.ts';

/** VSA defaults. Placeholders: {level} {office} {date} {page} {pages} {documentId}. */
export const defaultTemplates: MarkingTemplates = {
  header: 'VS-NUR FÜR DEN DIENSTGEBRAUCH',
  footer: '{office} · {date} · Seite {page} von {pages} · {documentId}',
};

const allowedLevels: readonly string[] = ['VS-NfD', 'OFFEN'] satisfies Classification[];
const refusedLevels = ['VS-VERTRAULICH', 'GEHEIM', 'STRENG GEHEIM'];

/** Levels above VS-NfD may not be held on this system; anything unknown is refused too. */
export function assertClassification(level: string): asserts level is Classification {
  if (allowedLevels.includes(level)) return;
  const known = refusedLevels.includes(level.toUpperCase());
  throw new AppError('classification_refused', {
    detail: known
      ? `${level} may not be processed on a VS-NfD system; use a system approved for that level.`
      : `Unknown classification "${level}"; use one of: ${allowedLevels.join(', ')}.`,
  });
}

const berlinDate = new Intl.DateTimeFormat('de-DE', {
  timeZone: 'Europe/Berlin',
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
});

export interface MarkingTexts {
  /** Absent for OFFEN: unclassified documents carry no level marking. */
  header: string | undefined;
  footer(page: number, pages: number): string;
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
}

export function markingTexts(options: MarkingOptions): MarkingTexts {
  assertClassification(options.classification);
  const templates = { ...defaultTemplates, ...options.templates };
  const base = {
    level: options.classification,
    office: options.issuingOffice,
    date: berlinDate.format(options.capturedAt),
    documentId: options.documentId,
  };
  return {
    header: options.classification === 'OFFEN' ? undefined : fill(templates.header, base),
    footer: (page, pages) => fill(templates.footer, { ...base, page: String(page), pages: String(pages) }),
  };
}

interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** Band heights in points for a page of the given reader-space size; pages built here leave room for them. */
export function markingBands(widthPt: number, heightPt: number): { header: number; footer: number; scale: number } {
  // A4 gets 10 pt / 7 pt text; larger sheets grow with their short side so the marking stays legible.
  const scale = Math.min(4, Math.max(1, Math.min(widthPt, heightPt) / 595.28));
  return { header: 24 * scale, footer: 18 * scale, scale };
}

type Quarter = 0 | 90 | 180 | 270;

function quarterTurns(angle: number): Quarter {
  const normalized = ((Math.round(angle / 90) * 90) % 360 + 360) % 360;
  return normalized as Quarter;
}

function normalizeBox(r: { x: number; y: number; width: number; height: number }): Box {
  const [xa, xb, ya, yb] = [r.x, r.x + r.width, r.y, r.y + r.height];
  return { x1: Math.min(xa, xb), y1: Math.min(ya, yb), x2: Math.max(xa, xb), y2: Math.max(ya, yb) };
}

function combine(a: Box, b: Box, how: 'union' | 'intersection'): Box {
  const [lower, upper] = how === 'union' ? [Math.min, Math.max] : [Math.max, Math.min];
  return { x1: lower(a.x1, b.x1), y1: lower(a.y1, b.y1), x2: upper(a.x2, b.x2), y2: upper(a.y2, b.y2) };
}

/** What a viewer shows: the CropBox clipped to the MediaBox. */
export function visibleBox(page: PDFPage): Box {
  const media = normalizeBox(page.getMediaBox());
  const box = combine(media, normalizeBox(page.getCropBox()), 'intersection');
  // A crop box outside the media box is invalid; viewers then fall back to the media box.
  return box.x2 > box.x1 && box.y2 > box.y1 ? box : media;
}

function userUnit(page: PDFPage): number {
  const value = page.node.lookup(PDFName.of('UserUnit'));
  return value instanceof PDFNumber && value.asNumber() > 0 ? value.asNumber() : 1;
}

/** Grows the box at the reader's top by `top` and at the reader's bottom by `bottom` (user units). */
function padBox(box: Box, turn: Quarter, top: number, bottom: number): Box {
  switch (turn) {
    case 0:
      return { ...box, y2: box.y2 + top, y1: box.y1 - bottom };
    case 90:
      return { ...box, x1: box.x1 - top, x2: box.x2 + bottom };
    case 180:
      return { ...box, y1: box.y1 - top, y2: box.y2 + bottom };
    case 270:
      return { ...box, x2: box.x2 + top, x1: box.x1 - bottom };
  }
}

/** Matrix from reader space (origin bottom-left as seen, units = user units) to user space. */
function readerToUser(box: Box, turn: Quarter): [number, number, number, number, number, number] {
  switch (turn) {
    case 0:
      return [1, 0, 0, 1, box.x1, box.y1];
    case 90:
      return [0, 1, -1, 0, box.x2, box.y1];
    case 180:
      return [-1, 0, 0, -1, box.x2, box.y2];
    case 270:
      return [0, -1, 1, 0, box.x1, box.y2];
  }
}

function setBoxes(page: PDFPage, box: Box): void {
  const union = combine(normalizeBox(page.getMediaBox()), box, 'union');
  page.setMediaBox(union.x1, union.y1, union.x2 - union.x1, union.y2 - union.y1);
  page.setCropBox(box.x1, box.y1, box.x2 - box.x1, box.y2 - box.y1);
  // Trim/Bleed/Art boxes would exclude the bands from print and "fit to trim" views.
  for (const name of ['TrimBox', 'BleedBox', 'ArtBox']) page.node.delete(PDFName.of(name));
}

/** A marking font with what it can encode remembered per character: the same texts recur on every page. */
interface MarkFont {
  font: PDFFont;
  /** Resource name on every page, fixed: pdf-lib keeps every PDFName it ever made, a random one per page would pile up. */
  key: string;
  encodable: Map<string, boolean>;
}

/** Replaces characters the standard font cannot encode (WinAnsi) instead of failing the document. */
function encodable(mark: MarkFont, text: string): string {
  return Array.from(text, (ch) => {
    let ok = mark.encodable.get(ch);
    if (ok === undefined) {
      try {
        mark.font.encodeText(ch);
        ok = true;
      } catch {
        ok = false;
      }
      mark.encodable.set(ch, ok);
    }
    return ok ? ch : '?';
  }).join('');
}

interface Fonts {
  header: MarkFont;
  footer: MarkFont;
}

/** The font's resource name on this page: the fixed one unless the page's own resources use it already. */
function fontKey(page: PDFPage, mark: MarkFont): PDFName {
  const fonts = page.node.normalizedEntries().Font;
  const name = PDFName.of(mark.key);
  const taken = fonts.get(name);
  // Pages may share one resource dictionary; another page of this document may have set it already.
  if (taken === mark.font.ref) return name;
  if (taken !== undefined) return page.node.newFontDictionary(mark.font.name, mark.font.ref);
  fonts.set(name, mark.font.ref);
  return name;
}

/** Operators drawing `text` centred on the line at `baseline`, shrunk to fit 92% of the width. */
function centredText(page: PDFPage, mark: MarkFont, text: string, size: number, width: number, baseline: number): PDFOperator[] {
  const safe = encodable(mark, text);
  // Standard-font widths scale linearly with the size.
  const widthAtOne = mark.font.widthOfTextAtSize(safe, 1);
  const fitted = Math.min(size, (size * width * 0.92) / Math.max(1, widthAtOne * size));
  const x = (width - widthAtOne * fitted) / 2;
  return [
    beginText(),
    setFillingRgbColor(0, 0, 0),
    setFontAndSize(fontKey(page, mark), fitted),
    moveText(x, baseline - fitted * 0.35),
    showText(mark.font.encodeText(safe)),
    endText(),
  ];
}

/** Pads the page at its visible top and bottom (never shrinks content) and draws the bands there. */
function markPage(page: PDFPage, fonts: Fonts, header: string | undefined, footer: string): void {
  const unit = userUnit(page);
  const turn = quarterTurns(page.getRotation().angle);
  const seen = visibleBox(page);
  const sideways = turn === 90 || turn === 270;
  const seenW = (sideways ? seen.y2 - seen.y1 : seen.x2 - seen.x1) * unit;
  const seenH = (sideways ? seen.x2 - seen.x1 : seen.y2 - seen.y1) * unit;
  const bands = markingBands(seenW, seenH);
  const box = padBox(seen, turn, bands.header / unit, bands.footer / unit);
  setBoxes(page, box);
  const heightPt = seenH + bands.header + bands.footer;
  const [a, b, c, d, e, f] = readerToUser(box, turn);
  const operators = [
    pushGraphicsState(),
    concatTransformationMatrix(a, b, c, d, e, f),
    concatTransformationMatrix(1 / unit, 0, 0, 1 / unit, 0, 0),
    ...(header === undefined ? [] : centredText(page, fonts.header, header, 10 * bands.scale, seenW, heightPt - bands.header / 2)),
    ...centredText(page, fonts.footer, footer, 7 * bands.scale, seenW, bands.footer / 2),
    popGraphicsState(),
  ];
  // Uncompressed: the few hundred bytes per page cost more time to deflate (a fresh deflater each) than they save.
  const stream = PDFContentStream.of(page.doc.context.obj({}), operators, false);
  page.node.addContentStream(page.doc.context.register(stream));
}

/** Marks every page of `doc`; the page's graphics state is isolated by pdf-lib's q/Q wrapping (normalize, via fontKey). */
export async function markDocument(doc: PDFDocument, texts: MarkingTexts, deadline: Deadline): Promise<void> {
  const fonts: Fonts = {
    header: { font: await doc.embedFont(StandardFonts.HelveticaBold), key: 'VSCMarkBold', encodable: new Map() },
    footer: { font: await doc.embedFont(StandardFonts.Helvetica), key: 'VSCMark', encodable: new Map() },
  };
  const pages = doc.getPages();
  pages.forEach((page, index) => {
    if (index % 50 === 0) deadline.check(`marking page ${index + 1}`);
    markPage(page, fonts, texts.header, texts.footer(index + 1, pages.length));
  });
}
