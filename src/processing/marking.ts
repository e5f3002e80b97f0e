/**
 * VS-NfD marking (VSA 2023): level at the top of every page, footer with office, date, "Seite n von N", id.
 * Every rendition page is built here upright at the origin with its bands left free (rebuild.ts,
 * assemble.ts), so the marking is drawn in plain page space, on white, after the isolated content.
 */
import { PDFName, type PDFDocument, type PDFFont, type PDFPage } from 'pdf-lib';
import { AppError } from '../kernel/errors.ts';
import { berlinDate } from './berlin-time.ts';
import type { Deadline } from './budget.ts';
import { REFUSED_LEVELS, type Classification, type MarkingOptions, type MarkingTemplates } from './types.ts';

/** VSA defaults. Placeholders: {level} {office} {date} {page} {pages} {documentId}. */
export const defaultTemplates: MarkingTemplates = {
  header: 'VS-NUR FÜR DEN DIENSTGEBRAUCH',
  footer: '{office} · {date} · Seite {page} von {pages} · {documentId}',
};

const allowedLevels: readonly string[] = ['VS-NfD', 'OFFEN'] satisfies Classification[];

/** Levels above VS-NfD may not be held on this system; anything unknown is refused too. */
export function assertClassification(level: string): asserts level is Classification {
  if (allowedLevels.includes(level)) return;
  const known = REFUSED_LEVELS.includes(level.toUpperCase());
  throw new AppError('classification_refused', {
    detail: known
      ? { de: `${level} darf auf einem VS-NfD-System nicht verarbeitet werden; nutzen Sie ein für diesen Grad zugelassenes System.`, en: `${level} may not be processed on a VS-NfD system; use a system approved for that level.` }
      : { de: `Unbekannte Einstufung "${level}"; verwenden Sie eine von: ${allowedLevels.join(', ')}.`, en: `Unknown classification "${level}"; use one of: ${allowedLevels.join(', ')}.` },
  });
}

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

export interface Bands {
  header: number;
  footer: number;
  scale: number;
}

/** Band heights in points for a page of the given size; pages built here leave room for them. */
export function markingBands(widthPt: number, heightPt: number): Bands {
  // A4 gets 10 pt / 7 pt text; larger sheets grow with their short side so the marking stays legible.
  const scale = Math.min(4, Math.max(1, Math.min(widthPt, heightPt) / 595.28));
  return { header: 24 * scale, footer: 18 * scale, scale };
}

/** The marking's font, embedded and subset (PDF/A): DejaVu covers Ä Ö Ü ß · and far more than WinAnsi. */
export interface MarkFonts {
  header: PDFFont;
  footer: PDFFont;
}

/** Characters the font has no glyph for become '?' instead of an invisible .notdef box. */
const characterSets = new WeakMap<PDFFont, Set<number>>();
function drawable(font: PDFFont, text: string): string {
  let chars = characterSets.get(font);
  if (!chars) characterSets.set(font, (chars = new Set(font.getCharacterSet())));
  return Array.from(text, (ch) => (chars.has(ch.codePointAt(0)!) ? ch : '?')).join('');
}

/**
 * Width (at size 1) and hex glyph string of `text`, put together from its characters, each laid out once
 * per font: fontkit shapes a whole text in about 1 ms, and every footer differs. The sum of the glyphs'
 * advances is where a reader puts them (a Tj string carries no kerning).
 */
const glyphCache = new WeakMap<PDFFont, Map<string, { width: number; hex: string }>>();
function laidOut(font: PDFFont, text: string): { widthAtOne: number; hex: string } {
  let known = glyphCache.get(font);
  if (!known) glyphCache.set(font, (known = new Map()));
  let widthAtOne = 0;
  let hex = '';
  for (const ch of drawable(font, text)) {
    let glyph = known.get(ch);
    // Encoding also adds the glyph to the font's subset.
    if (!glyph) known.set(ch, (glyph = { width: font.widthOfTextAtSize(ch, 1), hex: font.encodeText(ch).toString().slice(1, -1) }));
    widthAtOne += glyph.width;
    hex += glyph.hex;
  }
  return { widthAtOne, hex: `<${hex}>` };
}

/** Operators drawing `text` centred on the line at `baseline`, shrunk to fit 92% of the width, in a clean text state. */
function centredText(font: PDFFont, key: string, text: string, size: number, width: number, baseline: number): string {
  const { widthAtOne, hex } = laidOut(font, text);
  const fitted = Math.min(size, (width * 0.92) / Math.max(1e-6, widthAtOne));
  const x = (width - widthAtOne * fitted) / 2;
  // Text state is reset explicitly (render mode, spacing, scaling, rise): nothing the upload set may change how it shows.
  return `BT 0 Tr 0 Tc 0 Tw 100 Tz 0 Ts 0 0 0 rg /${key} ${num(fitted)} Tf ${num(x)} ${num(baseline - fitted * 0.35)} Td ${hex} Tj ET\n`;
}

const num = (v: number) => String(Math.round(v * 1000) / 1000);

/** Operators of the header band of a page `width`×`height` built here: white under the band, then the level (none for OFFEN). */
export function headerOps(fonts: MarkFonts, bands: Bands, width: number, height: number, header: string | undefined): string {
  const white = `1 1 1 rg 0 ${num(height - bands.header)} ${num(width)} ${num(bands.header)} re f\n`;
  return white + (header === undefined ? '' : centredText(fonts.header, 'VSCMarkBold', header, 10 * bands.scale, width, height - bands.header / 2));
}

/** Operators of the footer band (at the page's bottom edge): white under the band, then the footer text. */
export function footerOps(fonts: MarkFonts, bands: Bands, width: number, footer: string): string {
  return `1 1 1 rg 0 0 ${num(width)} ${num(bands.footer)} re f\n` + centredText(fonts.footer, 'VSCMark', footer, 7 * bands.scale, width, bands.footer / 2);
}

/** Appends `ops` (marking operators, in plain page space) to a page built here, with the marking's fonts in its resources. */
export function drawMarking(page: PDFPage, fonts: MarkFonts, ops: string): void {
  const context = page.doc.context;
  const resources = page.node.Resources()!;
  resources.set(PDFName.of('Font'), context.obj({ VSCMarkBold: fonts.header.ref, VSCMark: fonts.footer.ref }));
  // Uncompressed: the few hundred bytes per page cost more time to deflate (a fresh deflater each) than they save.
  page.node.addContentStream(context.register(context.stream(`q 1 0 0 1 0 0 cm\n${ops}Q\n`)));
}

/** Draws the bands on a page built here (upright, at the origin, the bands left free): white under them, then the texts. */
export function markPage(page: PDFPage, fonts: MarkFonts, bands: Bands, header: string | undefined, footer: string): void {
  const { width, height } = page.getSize();
  drawMarking(page, fonts, headerOps(fonts, bands, width, height, header) + footerOps(fonts, bands, width, footer));
}

/** Marks every page of `doc` (each built here, with its bands in `bands`), drawn after and outside the page's isolated content. */
export function markDocument(doc: PDFDocument, fonts: MarkFonts, bands: Bands[], texts: MarkingTexts, deadline: Deadline): void {
  const pages = doc.getPages();
  pages.forEach((page, index) => {
    if (index % 50 === 0) deadline.check(`marking page ${index + 1}`);
    markPage(page, fonts, bands[index]!, texts.header, texts.footer(index + 1, pages.length));
  });
}
