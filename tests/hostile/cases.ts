/**
 * The hostile-input table: each case builds one POST /v1/documents and states what the service must
 * answer. Accepted cases are then inspected (hostile.test.ts): marking on every page, drawn visibly,
 * no active content, the page count given here.
 */
import type { JWK } from 'jose';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { joseEncrypt, withHeader, withSegment, flipFirst } from '../../testkit/jwe-fixtures.ts';
import { cameraJpeg, multipageTiff, pngPixelBomb, heicPhoto } from '../../testkit/fixtures/images.ts';
import { encryptPdf, hostilePdf, markers, textPdf, zeroPagePdf } from '../../testkit/fixtures/pdfs.ts';
import {
  cmykJpeg,
  corruptPng,
  handMadeJpeg,
  heicGarbage,
  interlacedPng,
  jpegClaiming,
  oneByOnePng,
  palettePng,
  progressiveJpeg,
  scanBombJpeg,
  sixteenBitPng,
  tiffClaiming,
  tiffWithDanglingIfd,
  tiffWithStripsBeyondEnd,
  truncated,
} from '../fixtures/hostile-images.ts';
import {
  deeplyNested,
  escapingContent,
  lyingPageCount,
  manyPages,
  onePagePdf,
  hiddenGroup,
  openStatePage,
  textPage,
  pagesWith,
  rawPdf,
  selfReferencingObjects,
  selfReferencingPageTree,
  streamObject,
  type3Font,
  type3Glyph,
  untypedPages,
  visibleText,
  zeroBomb,
  zipWith,
} from '../fixtures/hostile-pdfs.ts';

/** One page of text in standard Helvetica, which office tools reference without embedding it. */
async function helveticaPdf(): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.addPage([595.28, 841.89]).drawText('Nicht eingebettete Schrift', { x: 100, y: 400, size: 14, font: await doc.embedFont(StandardFonts.Helvetica) });
  return doc.save();
}

/** Limits the suite's app runs with (env of startTestApp). */
export const hostileEnv = {
  MAX_PAGES: '100',
  MAX_FILES: '4',
  MAX_FILE_BYTES: String(4 * 2 ** 20),
  MAX_REQUEST_BYTES: String(16 * 2 ** 20),
};

export interface FilePart {
  body: Uint8Array | string;
  contentType: string;
  /** Sent as the part's filename; default part-N. */
  filename?: string;
}

/** A well-formed multipart capture, sent through the contract-checking supertest agent. */
export interface FormRequest {
  kind: 'form';
  /** JSON text or a compact JWE as a form field, or a part with its own bytes and type. */
  metadata: object | string | FilePart;
  files: FilePart[];
  /** Extra parts under other field names. */
  extra?: Array<{ field: string; part: FilePart }>;
}

/** Bytes on the wire exactly as given, over a raw HTTP connection. */
export interface RawRequest {
  kind: 'raw';
  contentType: string;
  body: Buffer;
  /** Content-Length to declare; default the body's length. */
  contentLength?: number;
}

export interface CaseContext {
  /** An ingest key of the service: ECDH-ES+A256KW on P-256. */
  ecKey: JWK;
  rsaKey: JWK;
}

export interface AcceptedExpectation {
  status: 201;
  pages: number;
  /** Text the kept original content must still show on page 1 (absent when it was rebuilt from pixels). */
  text?: string;
  /** Finding codes the document must report. */
  findings?: string[];
  /** Byte strings that must not occur anywhere in the rendition. */
  absent?: string[];
  /** Page sizes in points (width, height, as seen), rounded; checked with poppler. */
  sizes?: Array<[number, number]>;
}

export interface RefusedExpectation {
  status: 400 | 411 | 413 | 415 | 422;
  code: string;
}

export interface HostileCase {
  group: string;
  name: string;
  build(ctx: CaseContext): Promise<FormRequest | RawRequest>;
  expect: AcceptedExpectation | RefusedExpectation;
  /** A tighter bound on the process's RSS growth while the request runs, in MiB. */
  maxRssGrowthMib?: number;
  /** The hang detector for a heavy case (every page read by three readers), instead of the suite's 60 s: on a loaded CI machine it takes minutes. */
  timeoutMs?: number;
}

const title = { title: 'Feindliche Eingabe' };
/** A camera photo to be given the scan look: JPEGs then go through the in-process luma decode (grey-decode.ts). */
const lookOf = { ...title, source: 'camera', enhance: 'document' };
const pdf = (body: Uint8Array | string): FilePart => ({ body, contentType: 'application/pdf' });
const typed = (body: Uint8Array | string, contentType: string): FilePart => ({ body, contentType });
const form = (files: FilePart[], metadata: FormRequest['metadata'] = title): FormRequest => ({ kind: 'form', metadata, files });
const jose = (compact: string): FilePart => ({ body: compact, contentType: 'application/jose' });
const refused = (status: RefusedExpectation['status'], code: string): RefusedExpectation => ({ status, code });
const accepted = (pages: number, more: Omit<AcceptedExpectation, 'status' | 'pages'> = {}): AcceptedExpectation => ({ status: 201, pages, ...more });

/** A multipart body by hand: `parts` are complete part texts (headers, blank line, content) between delimiters. */
function multipart(boundary: string, parts: string[], closing = `--${boundary}--\r\n`): Buffer {
  return Buffer.from(parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('') + closing, 'latin1');
}
const metadataPart = `Content-Disposition: form-data; name="metadata"\r\n\r\n${JSON.stringify(title)}`;
const filePart = (bytes: Uint8Array) =>
  `Content-Disposition: form-data; name="file"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n${Buffer.from(bytes).toString('latin1')}`;
const raw = (contentType: string, body: Buffer, contentLength?: number): RawRequest => ({ kind: 'raw', contentType, body, ...(contentLength === undefined ? {} : { contentLength }) });

const activeContent = ['JavaScript', 'OpenAction', '/Launch', 'EmbeddedFile', '/XFA', ...Object.values(markers)];

export const cases: HostileCase[] = [
  // Damaged PDFs
  { group: 'pdf structure', name: 'garbage after a PDF header', build: async () => form([pdf(Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(8192, 0x3f)]))]), expect: refused(422, 'unprocessable') },
  { group: 'pdf structure', name: 'truncated to 60%', build: async () => form([pdf(truncated(await textPdf(3), 0.6))]), expect: refused(422, 'unprocessable') },
  { group: 'pdf structure', name: 'truncated before the xref table (objects complete)', build: async () => { const b = onePagePdf(); return form([pdf(b.subarray(0, b.indexOf('xref')))]); }, expect: accepted(1) },
  { group: 'pdf structure', name: 'every xref offset wrong', build: async () => form([pdf(onePagePdf('', '', { xref: 'shifted' }))]), expect: accepted(1, { text: visibleText }) },
  { group: 'pdf structure', name: 'startxref beyond the end of file', build: async () => form([pdf(onePagePdf('', '', { startxref: 99_999_999 }))]), expect: accepted(1, { text: visibleText }) },
  { group: 'pdf structure', name: 'trailer without /Root', build: async () => form([pdf(onePagePdf('', '', { trailer: '<< /Size 6 >>' }))]), expect: accepted(1) },
  { group: 'pdf structure', name: 'trailer /Root points to a missing object', build: async () => form([pdf(onePagePdf('', '', { trailer: '<< /Size 6 /Root 99 0 R >>' }))]), expect: accepted(1) },
  { group: 'pdf structure', name: 'page tree that contains itself', build: async () => form([pdf(selfReferencingPageTree())]), expect: refused(422, 'unprocessable') },
  { group: 'pdf structure', name: 'self-referencing resources, /Length and /Parent', build: async () => form([pdf(selfReferencingObjects())]), expect: accepted(1) },
  { group: 'pdf structure', name: 'arrays nested 100 000 deep', build: async () => form([pdf(deeplyNested('array', 100_000))]), expect: refused(422, 'unprocessable') },
  { group: 'pdf structure', name: 'dictionaries nested 20 000 deep', build: async () => form([pdf(deeplyNested('dict', 20_000))]), expect: accepted(1) },
  { group: 'pdf structure', name: 'page tree claiming a billion pages', build: async () => form([pdf(lyingPageCount())]), expect: accepted(1) },
  { group: 'pdf structure', name: '5000 pages (MAX_PAGES 100)', build: async () => form([pdf(await manyPages(5000))]), expect: refused(422, 'page_limit_exceeded') },
  { group: 'pdf structure', name: 'exactly MAX_PAGES pages', build: async () => form([pdf(await manyPages(100))]), expect: accepted(100), timeoutMs: 300_000 },
  { group: 'pdf structure', name: 'zero pages', build: async () => form([pdf(await zeroPagePdf())]), expect: refused(422, 'unprocessable') },
  // Issue #10: what readers see, not what pdf-lib sees
  { group: 'page model', name: 'pages without /Type, with an indirect /Type, under an untyped /Pages node (inherited boxes and fonts)', build: async () => form([pdf(untypedPages())]), expect: accepted(4, { text: visibleText, findings: ['page_tree_repaired'], sizes: [[595, 842], [595, 842], [595, 842], [595, 842]] }) },
  { group: 'page model', name: 'a page listed twice in /Kids is two pages, each with one footer', build: async () => form([pdf(rawPdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R 3 0 R] /Count 2 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>',
    streamObject(`BT /F1 14 Tf 72 420 Td (${visibleText}) Tj ET`),
    type3Font(6),
    type3Glyph,
  ]))]), expect: accepted(2, { text: visibleText, findings: ['page_tree_repaired'] }) },
  { group: 'page model', name: 'an EmbeddedFile reachable only through a made-up catalog key', build: async () => form([pdf(textPage({
    catalog: '/VSCHidden << /Payload 7 0 R >>',
    more: [streamObject(`MZ ${markers.file} hidden payload`, '/Type /EmbeddedFile')],
  }))]), expect: accepted(1, { text: visibleText, absent: [markers.file, 'VSCHidden'] }) },
  { group: 'page model', name: 'marked content left open on a hidden optional-content group (/OC BDC without EMC)', build: async () => form([pdf(openStatePage('/OC /MC0 BDC 0 0 m'))]), expect: accepted(1, { text: visibleText }) },
  { group: 'page model', name: 'text object left open in render mode 7 (BT … 7 Tr (x) Tj without ET)', build: async () => form([pdf(openStatePage('BT /F1 12 Tf 7 Tr 10 10 Td (x) Tj'))]), expect: accepted(1, { text: visibleText }) },
  { group: 'page model', name: 'every state left open at once, inside an unterminated array', build: async () => form([pdf(openStatePage('q /OC /MC0 BDC BX BT 7 Tr /F1 12 Tf (x) Tj [ (y'))]), expect: accepted(1, { text: visibleText }) },
  { group: 'page model', name: 'nested form leaving hidden marked content open', build: async () => form([pdf(textPage({
    catalog: hiddenGroup.catalog,
    resources: '/XObject << /Fm1 8 0 R >>',
    tail: '/Fm1 Do',
    more: [hiddenGroup.object, streamObject('/OC /MC0 BDC', `/Type /XObject /Subtype /Form /BBox [0 0 595 842] /Resources << ${hiddenGroup.resources} >>`)],
  }))]), expect: accepted(1, { text: visibleText }) },
  { group: 'page model', name: 'Flate bomb: page content inflating to 1 GiB', build: async () => form([pdf(textPage({
    contents: '[4 0 R 7 0 R]',
    more: [streamObject(await zeroBomb(1024), '/Filter /FlateDecode')],
  }))]), expect: refused(422, 'unprocessable'), maxRssGrowthMib: 300 },
  { group: 'page model', name: 'Flate bomb: an image inflating far beyond its declared size', build: async () => form([pdf(textPage({
    resources: '/XObject << /Im1 7 0 R >>',
    tail: 'q 100 0 0 100 72 600 cm /Im1 Do Q',
    more: [streamObject(await zeroBomb(512), '/Type /XObject /Subtype /Image /Width 64 /Height 64 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode')],
  }))]), expect: refused(422, 'unprocessable'), maxRssGrowthMib: 300 },
  { group: 'page model', name: 'empty, zero-area and inverted MediaBoxes, a CropBox outside the MediaBox', build: async () => form([pdf(pagesWith([
    '/MediaBox []',
    '/MediaBox [0 0 0 0]',
    '/MediaBox [595 842 0 0]',
    '/MediaBox [0 0 595 842] /CropBox [1000 1000 1100 1100]',
  ]))]), expect: accepted(4, { text: visibleText, sizes: [[612, 792], [612, 792], [595, 842], [595, 842]] }) },
  { group: 'page model', name: 'UserUnit 2, /Rotate 90 and a landscape page: sizes kept, UserUnit 1', build: async () => form([pdf(pagesWith([
    '/MediaBox [0 0 297.5 421] /UserUnit 2',
    '/MediaBox [0 0 595 842] /Rotate 90',
    '/MediaBox [0 0 842 595]',
  ]))]), expect: accepted(3, { text: visibleText, sizes: [[595, 842], [842, 595], [842, 595]] }) },
  { group: 'pdf structure', name: 'two PDFs that together exceed MAX_PAGES', build: async () => form([pdf(await manyPages(60)), pdf(await manyPages(60))]), expect: refused(422, 'page_limit_exceeded') },

  // Encryption and active content
  { group: 'pdf content', name: 'user-password encrypted', build: async () => form([pdf(encryptPdf(await textPdf(1), { owner: 'o', user: 'u' }))]), expect: refused(422, 'encrypted_pdf') },
  { group: 'pdf content', name: 'owner-password-only encrypted (rebuilt from pixels)', build: async () => form([pdf(encryptPdf(await textPdf(2), { owner: 'o' }))]), expect: accepted(2, { findings: ['rasterized'] }) },
  { group: 'pdf content', name: 'JavaScript, Launch, embedded files, XFA, auto actions', build: async () => form([pdf(await hostilePdf())]), expect: accepted(1, { text: 'Sichtbarer Inhalt', findings: ['javascript_removed', 'launch_removed', 'xfa_removed'], absent: activeContent }) },
  { group: 'pdf content', name: 'OpenAction JavaScript in a hand-written file', build: async () => form([pdf(rawPdf([
    '<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R /Names << /JavaScript << /Names [(x) 6 0 R] >> >> >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>',
    streamObject(`BT /F1 14 Tf 72 420 Td (${visibleText}) Tj ET`),
    type3Font(7),
    `<< /S /JavaScript /JS (app.launchURL\\("https://evil.example/${markers.js}"\\)) >>`,
    type3Glyph,
  ]))]), expect: accepted(1, { text: visibleText, findings: ['javascript_removed'], absent: activeContent }) },
  { group: 'pdf content', name: 'content stream with more Q than q (escapes the save/restore wrapping)', build: async () => form([pdf(onePagePdf(escapingContent))]), expect: accepted(1, { text: visibleText }) },
  { group: 'pdf content', name: 'surplus Q, then invisible text and a clip (no CTM change)', build: async () => form([pdf(onePagePdf('Q Q 3 Tr 0 0 1 1 re W n'))]), expect: accepted(1, { text: visibleText }) },
  { group: 'pdf content', name: 'surplus Q inside a nested form XObject', build: async () => form([pdf(rawPdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> /XObject << /Fm1 6 0 R >> >> /Contents 4 0 R >>',
    streamObject(`BT /F1 14 Tf 72 420 Td (${visibleText}) Tj ET /Fm1 Do`),
    type3Font(7),
    streamObject(escapingContent, '/Type /XObject /Subtype /Form /BBox [0 0 595 842]'),
    type3Glyph,
  ]))]), expect: accepted(1, { text: visibleText }) },
  { group: 'pdf content', name: 'saves hidden in an array and a dictionary do not pay for surplus Q', build: async () => form([pdf(onePagePdf('[q q q q] /P << /K q /L [q q] >> BDC EMC Q Q Q Q 3 Tr 0 0 1 1 re W n'))]), expect: accepted(1, { text: visibleText }) },
  { group: 'pdf content', name: 'opaque annotation reaching over the page edge, where the marking goes', build: async () => form([pdf(onePagePdf('', '/Annots [6 0 R 7 0 R]', {}, [
    '<< /Type /Annot /Subtype /Square /Rect [-50 -50 645 892] /F 4 /AP << /N 8 0 R >> >>',
    '<< /Type /Annot /Subtype /Stamp /Rect [0 700 595 842] /F 4 /AP << /N 8 0 R >> >>',
    streamObject('1 1 1 rg -10000 -10000 20000 20000 re f', '/Type /XObject /Subtype /Form /BBox [0 0 10 10]'),
  ]))]), expect: accepted(1, { text: visibleText }) },
  { group: 'pdf content', name: 'content stream ending inside a string literal', build: async () => form([pdf(onePagePdf('Q Q 3 Tr (unterminated \\) string'))]), expect: accepted(1, { text: visibleText }) },
  // Readers disagree where the image data ends: the page is rebuilt from pixels (its text then is pixels too).
  { group: 'pdf content', name: 'text in a font that is not embedded (Helvetica): the page rebuilt from pixels for PDF/A', build: async () => form([pdf(await helveticaPdf())]), expect: accepted(1, { findings: ['page_rasterized'] }) },
  { group: 'pdf content', name: 'content stream ending inside an inline image', build: async () => form([pdf(onePagePdf('Q Q 3 Tr BI /W 8 /H 8 /CS /G /BPC 8 ID \x00\x01'))]), expect: accepted(1, { findings: ['page_rasterized'] }) },
  { group: 'pdf content', name: 'page content split over several streams, unbalanced across them', build: async () => form([pdf(rawPdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents [4 0 R 6 0 R] >>',
    streamObject(`q BT /F1 14 Tf 72 420 Td (${visibleText}) Tj`),
    type3Font(7),
    streamObject(`ET Q ${escapingContent}`),
    type3Glyph,
  ]))]), expect: accepted(1, { text: visibleText }) },

  // Polyglots and lying names/types
  { group: 'polyglot', name: 'PDF with a ZIP archive appended', build: async () => form([pdf(Buffer.concat([Buffer.from(await textPdf(1)), zipWith('payload.exe', Buffer.from('MZ EVIL_ZIP_MARKER'))]))]), expect: accepted(1, { text: 'Inhalt Seite 1', absent: ['EVIL_ZIP_MARKER', 'PK\x03\x04'] }) },
  { group: 'polyglot', name: 'ZIP archive holding a PDF', build: async () => form([pdf(zipWith('scan.pdf', Buffer.from(await textPdf(1))))]), expect: refused(415, 'unsupported_media_type') },
  { group: 'polyglot', name: 'HTML page with a PDF behind it', build: async () => form([typed(Buffer.concat([Buffer.from('<html><script>alert(1)</script></html>\n'), Buffer.from(await textPdf(1))]), 'application/octet-stream')]), expect: refused(415, 'unsupported_media_type') },
  { group: 'polyglot', name: 'PDF carrying HTML and script in a comment', build: async () => { const b = Buffer.from(await textPdf(1)); return form([pdf(Buffer.concat([b.subarray(0, 9), Buffer.from('%<html><script>EVIL_HTML_MARKER</script>\n'), b.subarray(9)]))]); }, expect: accepted(1, { absent: ['<script', 'EVIL_HTML_MARKER'] }) },
  { group: 'polyglot', name: 'JPEG with a PDF tail, declared as PDF', build: async () => form([pdf(Buffer.concat([await cameraJpeg({ width: 400, height: 300 }), Buffer.from(await textPdf(1))]))]), expect: refused(415, 'media_type_mismatch') },
  { group: 'polyglot', name: 'JPEG with a PDF and a ZIP tail, declared as JPEG', build: async () => form([typed(Buffer.concat([await cameraJpeg({ width: 400, height: 300 }), Buffer.from(await textPdf(1)), zipWith('x.exe', Buffer.from('EVIL_ZIP_MARKER'))]), 'image/jpeg')]), expect: accepted(1, { absent: ['Inhalt', 'EVIL_ZIP_MARKER', 'PK\x03\x04'] }) },
  { group: 'polyglot', name: 'file name says .pdf, bytes are a JPEG, type generic', build: async () => form([{ body: await cameraJpeg({ width: 300, height: 400 }), contentType: 'application/octet-stream', filename: 'bescheid.pdf' }]), expect: accepted(1) },
  { group: 'polyglot', name: 'declared image/png, bytes are a PDF', build: async () => form([typed(await textPdf(1), 'image/png')]), expect: refused(415, 'media_type_mismatch') },
  { group: 'polyglot', name: 'SVG with script declared as image/png', build: async () => form([typed('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', 'image/png')]), expect: refused(415, 'unsupported_media_type') },
  { group: 'polyglot', name: 'JWE whose cty lies (PDF inside, cty image/jpeg)', build: async ({ ecKey }) => form([jose(await joseEncrypt(ecKey, await textPdf(1), { cty: 'image/jpeg' }))]), expect: refused(415, 'media_type_mismatch') },

  // Images
  { group: 'image', name: 'corrupt PNG image data', build: async () => form([typed(await corruptPng(), 'image/png')]), expect: refused(422, 'unprocessable') },
  { group: 'image', name: 'truncated JPEG', build: async () => form([typed(truncated(await cameraJpeg({ width: 800, height: 600 }), 0.5), 'image/jpeg')]), expect: refused(422, 'unprocessable') },
  { group: 'image', name: 'TIFF whose first IFD lies beyond the file', build: async () => form([typed(tiffWithDanglingIfd(), 'image/tiff')]), expect: refused(415, 'unsupported_media_type') },
  { group: 'image', name: 'TIFF whose image data lies beyond the file', build: async () => form([typed(await tiffWithStripsBeyondEnd(), 'image/tiff')]), expect: refused(422, 'unprocessable') },
  { group: 'image', name: 'HEIC header over garbage', build: async () => form([typed(heicGarbage(), 'image/heic')]), expect: refused(422, 'unprocessable') },
  { group: 'image', name: 'truncated HEIC', build: async () => form([typed(truncated(await heicPhoto(320, 240), 0.5), 'image/heic')]), expect: refused(422, 'unprocessable') },
  { group: 'image', name: 'PNG pixel bomb (40000 × 40000)', build: async () => form([typed(pngPixelBomb(), 'image/png')]), expect: refused(422, 'image_too_large') },
  { group: 'image', name: 'JPEG pixel bomb (65000 × 65000 in SOF0)', build: async () => form([typed(await jpegClaiming(65_000, 65_000), 'image/jpeg')]), expect: refused(422, 'image_too_large') },
  { group: 'image', name: 'TIFF pixel bomb (100000 × 100000)', build: async () => form([typed(await tiffClaiming(100_000, 100_000), 'image/tiff')]), expect: refused(422, 'image_too_large') },
  { group: 'image', name: '1 × 1 PNG', build: async () => form([typed(await oneByOnePng(), 'image/png')]), expect: accepted(1, { findings: ['low_resolution'] }) },
  { group: 'image', name: '16-bit PNG', build: async () => form([typed(await sixteenBitPng(), 'image/png')]), expect: accepted(1) },
  { group: 'image', name: 'palette PNG', build: async () => form([typed(await palettePng(), 'image/png')]), expect: accepted(1) },
  { group: 'image', name: 'interlaced PNG with alpha', build: async () => form([typed(await interlacedPng(), 'image/png')]), expect: accepted(1) },
  { group: 'image', name: 'progressive JPEG', build: async () => form([typed(await progressiveJpeg(), 'image/jpeg')]), expect: accepted(1) },
  { group: 'image', name: 'CMYK JPEG', build: async () => form([typed(await cmykJpeg(), 'image/jpeg')]), expect: accepted(1) },
  { group: 'image', name: 'progressive JPEG of 5 000 scans (scan bomb: a pass over the image each)', build: async () => form([typed(await scanBombJpeg(5000), 'image/jpeg')]), expect: refused(422, 'unprocessable') },
  { group: 'image', name: 'scan bomb with enhance document (decoded in-process there)', build: async () => form([typed(await scanBombJpeg(5000), 'image/jpeg')], lookOf), expect: refused(422, 'unprocessable') },
  { group: 'image', name: '12-bit JPEG (SOF1)', build: async () => form([typed(handMadeJpeg('12-bit'), 'image/jpeg')], lookOf), expect: refused(422, 'unprocessable') },
  { group: 'image', name: 'lossless JPEG (SOF3) with enhance document', build: async () => form([typed(handMadeJpeg('lossless'), 'image/jpeg')], lookOf), expect: accepted(1) },
  { group: 'image', name: 'CMYK JPEG with enhance document', build: async () => form([typed(await cmykJpeg(), 'image/jpeg')], lookOf), expect: accepted(1) },
  { group: 'image', name: 'multi-page TIFF (3 pages)', build: async () => form([typed(await multipageTiff(['#ff0000', '#00ff00', '#0000ff']), 'image/tiff')]), expect: accepted(3) },
  { group: 'image', name: 'multi-page TIFF beyond MAX_PAGES (150 pages)', build: async () => form([typed(await multipageTiff(Array.from({ length: 150 }, () => '#808080'), 8, 8), 'image/tiff')]), expect: refused(422, 'page_limit_exceeded') },

  // Parts and sizes
  { group: 'parts', name: 'zero-byte file part', build: async () => form([typed(Buffer.alloc(0), 'application/pdf')]), expect: refused(400, 'validation_failed') },
  { group: 'parts', name: 'zero-byte metadata part', build: async () => form([pdf(await textPdf(1))], { body: Buffer.alloc(0), contentType: 'application/json' }), expect: refused(400, 'validation_failed') },
  { group: 'parts', name: 'file part over MAX_FILE_BYTES', build: async () => form([pdf(Buffer.alloc(6 * 2 ** 20, 0x20))]), expect: refused(413, 'payload_too_large') },
  { group: 'parts', name: 'more file parts than MAX_FILES', build: async () => { const one = await textPdf(1); return form([pdf(one), pdf(one), pdf(one), pdf(one), pdf(one), pdf(one)]); }, expect: refused(413, 'payload_too_large') },
  { group: 'parts', name: 'file under an unexpected field name', build: async () => ({ ...form([pdf(await textPdf(1))]), extra: [{ field: 'evil', part: pdf(await textPdf(1)) }] }), expect: refused(400, 'bad_request') },
  { group: 'parts', name: 'metadata as a JSON file part', build: async () => form([pdf(await textPdf(1))], { body: JSON.stringify(title), contentType: 'application/json' }), expect: accepted(1) },

  // Malformed multipart bodies on the wire
  { group: 'multipart', name: 'boundary in the header differs from the body', build: async () => raw('multipart/form-data; boundary=expected', multipart('other', [metadataPart, filePart(await textPdf(1))])), expect: refused(400, 'bad_request') },
  { group: 'multipart', name: 'no boundary parameter', build: async () => raw('multipart/form-data', multipart('b', [metadataPart])), expect: refused(400, 'bad_request') },
  { group: 'multipart', name: 'body ends without the closing delimiter', build: async () => raw('multipart/form-data; boundary=b', multipart('b', [metadataPart, filePart(await textPdf(1))], '')), expect: refused(400, 'bad_request') },
  { group: 'multipart', name: 'body cut off inside a part', build: async () => raw('multipart/form-data; boundary=b', multipart('b', [metadataPart, filePart(await textPdf(1))]).subarray(0, 400)), expect: refused(400, 'bad_request') },
  { group: 'multipart', name: 'part header garbage (no colon, binary)', build: async () => raw('multipart/form-data; boundary=b', multipart('b', ['\x00\x01garbage header line\xff\r\n\r\nvalue', metadataPart])), expect: refused(400, 'bad_request') },
  { group: 'multipart', name: 'part without a field name', build: async () => raw('multipart/form-data; boundary=b', multipart('b', ['Content-Disposition: form-data\r\n\r\nvalue'])), expect: refused(400, 'bad_request') },
  { group: 'multipart', name: 'part header of 200 KiB', build: async () => raw('multipart/form-data; boundary=b', multipart('b', [`Content-Disposition: form-data; name="metadata"\r\nX-Pad: ${'a'.repeat(200 * 1024)}\r\n\r\n{}`])), expect: refused(400, 'bad_request') },
  { group: 'multipart', name: '10 000 header lines in one part', build: async () => raw('multipart/form-data; boundary=b', multipart('b', [`Content-Disposition: form-data; name="metadata"\r\n${'X-A: b\r\n'.repeat(10_000)}\r\n{}`])), expect: refused(400, 'bad_request') },
  { group: 'multipart', name: 'Content-Length over MAX_REQUEST_BYTES', build: async () => raw('multipart/form-data; boundary=b', multipart('b', [metadataPart]), 17 * 2 ** 20), expect: refused(413, 'payload_too_large') },

  // JWE
  { group: 'jwe', name: 'file part: three segments', build: async () => form([jose('eyJhbGciOiJSU0EtT0FFUC0yNTYifQ.abc.def')]), expect: refused(400, 'jwe_invalid') },
  { group: 'jwe', name: 'file part: characters outside base64url', build: async ({ ecKey }) => form([jose(withSegment(await joseEncrypt(ecKey, await textPdf(1)), 3, (s) => `*${s.slice(1)}`))]), expect: refused(400, 'jwe_invalid') },
  { group: 'jwe', name: 'file part: protected header of 20 000 characters', build: async ({ ecKey }) => form([jose(withHeader(await joseEncrypt(ecKey, await textPdf(1)), (h) => ({ ...h, pad: 'x'.repeat(20_000) })))]), expect: refused(400, 'jwe_invalid') },
  { group: 'jwe', name: 'file part: alg none', build: async ({ ecKey }) => form([jose(withHeader(await joseEncrypt(ecKey, await textPdf(1)), (h) => ({ ...h, alg: 'none' })))]), expect: refused(400, 'jwe_invalid') },
  { group: 'jwe', name: 'file part: zip DEF (decompression bomb vector)', build: async ({ ecKey }) => form([jose(withHeader(await joseEncrypt(ecKey, await textPdf(1)), (h) => ({ ...h, zip: 'DEF' })))]), expect: refused(400, 'jwe_invalid') },
  { group: 'jwe', name: 'file part: tag altered', build: async ({ rsaKey }) => form([jose(withSegment(await joseEncrypt(rsaKey, await textPdf(1)), 4, flipFirst))]), expect: refused(400, 'jwe_invalid') },
  { group: 'jwe', name: 'file part: header is not JSON', build: async ({ ecKey }) => form([jose(withSegment(await joseEncrypt(ecKey, await textPdf(1)), 0, () => Buffer.from('{"alg":').toString('base64url')))]), expect: refused(400, 'jwe_invalid') },
  { group: 'jwe', name: 'file part: encrypted empty plaintext', build: async ({ ecKey }) => form([jose(await joseEncrypt(ecKey, new Uint8Array(0)))]), expect: refused(400, 'validation_failed') },
  { group: 'jwe', name: 'file part: oversized JWE', build: async () => form([jose(`${'A'.repeat(100)}.${'A'.repeat(10)}.${'A'.repeat(16)}.${'A'.repeat(6 * 2 ** 20)}.${'A'.repeat(22)}`)]), expect: refused(413, 'payload_too_large') },
  { group: 'jwe', name: 'metadata: malformed JWE', build: async () => form([pdf(await textPdf(1))], 'eyJhbGciOiJub25lIn0.x.y'), expect: refused(400, 'jwe_invalid') },
  { group: 'jwe', name: 'metadata: JWE whose plaintext exceeds 64 KiB', build: async ({ ecKey }) => form([pdf(await textPdf(1))], await joseEncrypt(ecKey, Buffer.from(JSON.stringify({ title: 'x'.repeat(70_000) })))), expect: refused(413, 'payload_too_large') },
  { group: 'jwe', name: 'metadata: JWE file part of 10 MB', build: async ({ ecKey }) => form([pdf(await textPdf(1))], { body: await joseEncrypt(ecKey, Buffer.from(JSON.stringify({ title: 'x'.repeat(7_000_000) }))), contentType: 'application/jose', filename: 'metadata.jwe' }), expect: refused(413, 'payload_too_large') },
  { group: 'jwe', name: 'metadata: JWE whose plaintext is not JSON', build: async ({ ecKey }) => form([pdf(await textPdf(1))], await joseEncrypt(ecKey, Buffer.from('<script>alert(1)</script>'))), expect: refused(400, 'validation_failed') },
  { group: 'jwe', name: 'metadata: JWE for a key the service does not have', build: async ({ ecKey }) => form([pdf(await textPdf(1))], withHeader(await joseEncrypt(ecKey, Buffer.from(JSON.stringify(title))), (h) => ({ ...h, kid: 'unknown-key' }))), expect: refused(400, 'jwe_invalid') },

  // Metadata
  { group: 'metadata', name: 'control characters in the title', build: async () => form([pdf(await textPdf(1))], { title: 'Akte\u0000\u001b[31m' }), expect: refused(400, 'validation_failed') },
  { group: 'metadata', name: 'title of 301 characters', build: async () => form([pdf(await textPdf(1))], { title: 'x'.repeat(301) }), expect: refused(400, 'validation_failed') },
  { group: 'metadata', name: 'metadata as a file part with a filename, 10 MB of nested arrays', build: async () => form([pdf(await textPdf(1))], { body: '['.repeat(5_000_000) + ']'.repeat(5_000_000), contentType: 'application/json', filename: 'metadata.json' }), expect: refused(413, 'payload_too_large') },
  { group: 'metadata', name: 'metadata as a file part just over 64 KiB', build: async () => form([pdf(await textPdf(1))], { body: JSON.stringify({ title: 'x', caseNumber: 'y'.repeat(66_000) }), contentType: 'application/json', filename: 'metadata.json' }), expect: refused(413, 'payload_too_large') },
  { group: 'metadata', name: 'metadata over the 64 KiB field limit', build: async () => form([pdf(await textPdf(1))], { title: 'x', caseNumber: 'y'.repeat(70_000) }), expect: refused(413, 'payload_too_large') },
  { group: 'metadata', name: 'script tag in the title (stored as text)', build: async () => form([pdf(await textPdf(1))], { title: '<script>alert(1)</script>', issuingOffice: '<img src=x onerror=alert(1)>' }), expect: accepted(1) },
  { group: 'metadata', name: 'office with PDF syntax and characters the font lacks', build: async () => form([pdf(await textPdf(1))], { title: 'x', issuingOffice: 'Amt ) Tj (\\ → 中文 ✓' }), expect: accepted(1) },
  { group: 'metadata', name: 'title of the wrong type', build: async () => form([pdf(await textPdf(1))], { title: 42 }), expect: refused(400, 'validation_failed') },
  { group: 'metadata', name: 'classification as an array', build: async () => form([pdf(await textPdf(1))], { title: 'x', classification: ['VS-NfD'] }), expect: refused(400, 'validation_failed') },
  { group: 'metadata', name: 'metadata that is a JSON array', build: async () => form([pdf(await textPdf(1))], '[{"title":"x"}]'), expect: refused(400, 'validation_failed') },
  { group: 'metadata', name: 'metadata that is JSON null', build: async () => form([pdf(await textPdf(1))], 'null'), expect: refused(400, 'validation_failed') },
  { group: 'metadata', name: '__proto__ key (prototype pollution)', build: async () => form([pdf(await textPdf(1))], '{"title":"x","__proto__":{"classification":"OFFEN","polluted":true}}'), expect: refused(400, 'validation_failed') },
  { group: 'metadata', name: 'constructor.prototype key', build: async () => form([pdf(await textPdf(1))], '{"title":"x","constructor":{"prototype":{"polluted":true}}}'), expect: refused(400, 'validation_failed') },
  { group: 'metadata', name: '__proto__ nested in device', build: async () => form([pdf(await textPdf(1))], '{"title":"x","device":{"app":"a","version":"1","__proto__":{"polluted":true}}}'), expect: refused(400, 'validation_failed') },
  { group: 'metadata', name: 'JSON nested 10 000 deep', build: async () => form([pdf(await textPdf(1))], `{"title":"x","device":${'['.repeat(10_000)}${']'.repeat(10_000)}}`), expect: refused(400, 'validation_failed') },
  { group: 'metadata', name: 'invalid UTF-8 in the metadata', build: async () => form([pdf(await textPdf(1))], { body: Buffer.concat([Buffer.from('{"title":"Akte '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]), contentType: 'application/json' }), expect: refused(400, 'validation_failed') },
  { group: 'metadata', name: 'classification GEHEIM in odd spelling', build: async () => form([pdf(await textPdf(1))], { title: 'x', classification: ' geheim ' }), expect: refused(422, 'classification_refused') },
];

/** Fails fast when two cases share a name (vitest would merge their reports). */
export function caseNames(): string[] {
  const names = cases.map((c) => `${c.group}: ${c.name}`);
  if (new Set(names).size !== names.length) throw new Error('duplicate hostile case names');
  return names;
}
