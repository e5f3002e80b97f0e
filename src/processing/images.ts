/**
 * Photos and scans → page images: orientation applied, every metadata block dropped, sRGB, at most
 * 300 dpi on the A4 page they become, optionally enhanced into a "scan look".
 */
import { availableParallelism } from 'node:os';
import sharp, { type Metadata, type Sharp, type SharpOptions } from 'sharp';
import { AppError } from '../kernel/errors.ts';
import { assertPageLimit, type Deadline } from './budget.ts';
import { documentLook, type DocumentHints } from './document-look.ts';
import { assertScanCount, stripJpegMetadata } from './jpeg.ts';
import { a4Frame, targetDpi } from './page-layout.ts';
import type { Enhance, Finding } from './types.ts';

// The default here is one libvips thread; and no operation cache, so no decoded page lingers in memory.
sharp.concurrency(availableParallelism());
sharp.cache(false);

/** libvips' own default (268 MP): pixel bombs fail before decoding. Never switch it off. */
const pixelLimit = 268_402_689;

/**
 * JPEG with failOn 'truncated': a cut-off upload (half a page grey) is refused, while the harmless warnings
 * many camera JPEGs raise (extraneous bytes, odd markers) still decode — sharp's default 'warning' refuses
 * those. Every other format with 'error': with 'truncated' a TIFF whose strips lie beyond the file
 * decoded to a black page without complaint (measured).
 */
function decodeOptions(mediaType: string): SharpOptions {
  return { failOn: mediaType === 'image/jpeg' ? 'truncated' : 'error', limitInputPixels: pixelLimit };
}

/** Keeping the camera's JPEG is worth a little over 300 dpi: re-encoding costs quality and time for < 36% fewer pixels. */
const passthroughDpiTolerance = 1.25;

const jpegQuality = 85;

export type Quarter = 0 | 90 | 180 | 270;

export interface PageImage {
  /** JPEG bytes without metadata; pdf-lib embeds them as DCTDecode, undecoded. */
  jpeg: Uint8Array;
  widthPx: number;
  heightPx: number;
  /** Clockwise turn to apply when placing: the EXIF rotation, done by the PDF instead of by pixels. */
  turn: Quarter;
}

export interface ImageResult {
  pages: PageImage[];
  /** `page` is 1-based within this file; the caller shifts it to rendition pages. */
  findings: Finding[];
}

const turnsByOrientation: Record<number, Quarter> = { 1: 0, 3: 180, 6: 90, 8: 270 };

function refuse(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(message)) {
    throw new AppError('image_too_large', {
      detail: {
        de: `Das Bild hat mehr als ${pixelLimit} Pixel; senden Sie ein kleineres Bild (ein A4-Scan mit 300 dpi hat 8,7 Millionen).`,
        en: `The image exceeds ${pixelLimit} pixels; send a smaller image (a 300 dpi A4 scan has 8.7 million).`,
      },
      cause: err,
    });
  }
  throw new AppError('unprocessable', {
    detail: { de: 'Das Bild ist beschädigt oder unvollständig und lässt sich nicht dekodieren; senden Sie es erneut.', en: 'The image is damaged or truncated and cannot be decoded; send it again.' },
    cause: err,
  });
}

/** Runs a sharp step, turning libvips errors into refusals that say what to do. */
async function guarded<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (err instanceof AppError) throw err;
    return refuse(err);
  }
}

/** Tag 0x8825 in IFD0 points to the GPS IFD; hand-read because only this one tag matters. */
function hasGps(exif: Buffer | undefined): boolean {
  if (!exif || exif.length < 14) return false;
  const tiff = exif.subarray(exif.indexOf('Exif\0\0') === 0 ? 6 : 0);
  const little = tiff.toString('latin1', 0, 2) === 'II';
  const u16 = (o: number) => (o + 2 <= tiff.length ? (little ? tiff.readUInt16LE(o) : tiff.readUInt16BE(o)) : 0);
  const ifd = tiff.length >= 8 ? (little ? tiff.readUInt32LE(4) : tiff.readUInt32BE(4)) : 0;
  const entries = u16(ifd);
  for (let i = 0; i < entries; i++) if (u16(ifd + 2 + i * 12) === 0x8825) return true;
  return false;
}

function metadataFindings(meta: Metadata, part: number): Finding[] {
  const removed = [
    meta.exif ? 'EXIF' : undefined,
    hasGps(meta.exif) ? 'GPS position' : undefined,
    meta.xmp ? 'XMP' : undefined,
    meta.iptc ? 'IPTC' : undefined,
    meta.icc ? 'ICC profile (after conversion to sRGB)' : undefined,
  ].filter((x): x is string => x !== undefined);
  const findings: Finding[] = [];
  if (meta.orientation && meta.orientation > 1) {
    findings.push({ code: 'exif_orientation_applied', message: `EXIF orientation ${meta.orientation} applied`, part });
  }
  if (removed.length > 0) findings.push({ code: 'metadata_removed', message: `${removed.join(', ')} removed`, part });
  return findings;
}

/** Pixel size after orientation, and the frame it fills. */
function orientedSize(meta: Metadata): { width: number; height: number } {
  const sideways = (meta.orientation ?? 1) >= 5;
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  return sideways ? { width: height, height: width } : { width, height };
}

function resolutionFindings(dpi: number, page: number, part: number): Finding[] {
  if (dpi >= targetDpi - 0.5) return [];
  return [{ code: 'low_resolution', message: `page ${page} captured at ${Math.round(dpi)} dpi (< ${targetDpi})`, part, page }];
}

/**
 * The decode path: cap at 300 dpi, sRGB on white, JPEG without metadata. Pure
 * rotations stay a PDF transform (turning pixels would hold the whole image in memory); mirrors are applied.
 */
async function reencode(input: Sharp, meta: Metadata, scale: number): Promise<PageImage> {
  const turn = turnsByOrientation[meta.orientation ?? 1];
  const width = Math.max(1, Math.floor((turn === undefined ? orientedSize(meta).width : meta.width!) * scale));
  const pipeline = (turn === undefined ? input.clone().rotate() : input.clone())
    .resize({ width, withoutEnlargement: true })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb');
  const { data, info } = await pipeline.jpeg({ quality: jpegQuality }).toBuffer({ resolveWithObject: true });
  return { jpeg: data, widthPx: info.width, heightPx: info.height, turn: turn ?? 0 };
}

/** Camera JPEGs that need no pixel change keep their encoding; the preview decode proves the stream decodes. */
async function tryPassthrough(bytes: Uint8Array, input: Sharp, meta: Metadata, dpi: number): Promise<PageImage | undefined> {
  const turn = turnsByOrientation[meta.orientation ?? 1];
  const plain = meta.format === 'jpeg' && !meta.icc && (meta.space === 'srgb' || meta.space === 'b-w') && meta.depth === 'uchar';
  if (turn === undefined || !plain || dpi > targetDpi * passthroughDpiTolerance) return undefined;
  await input.clone().resize(64, 64, { fit: 'inside' }).raw().toBuffer();
  return { jpeg: stripJpegMetadata(bytes), widthPx: meta.width!, heightPx: meta.height!, turn };
}

/** The scan look (document-look.ts), encoded as a grey JPEG. */
async function documentPage(bytes: Uint8Array, input: Sharp, meta: Metadata, hints: DocumentHints, part: number, page: number): Promise<{ image: PageImage; findings: Finding[] }> {
  // libjpeg-turbo reads the JPEG itself (luma only); CMYK and pixel bombs stay with sharp, which converts or refuses them.
  const lumaMay = meta.format === 'jpeg' && meta.space !== 'cmyk' && (meta.width ?? 0) * (meta.height ?? 0) <= pixelLimit;
  const look = await documentLook(input, meta, hints, part, page, lumaMay ? bytes : undefined);
  const { data, info } = await sharp(look.page.data, { raw: { width: look.page.width, height: look.page.height, channels: 1 } })
    .toColourspace('b-w')
    .jpeg({ quality: jpegQuality })
    .toBuffer({ resolveWithObject: true });
  return { image: { jpeg: data, widthPx: info.width, heightPx: info.height, turn: 0 }, findings: look.findings };
}

async function onePage(bytes: Uint8Array, input: Sharp, enhance: Enhance, part: number, page: number, hints: DocumentHints) {
  const meta = await guarded(() => input.metadata());
  const { width, height } = orientedSize(meta);
  const { dpi } = a4Frame(width, height);
  const findings = [...resolutionFindings(dpi, page, part)];
  if (enhance === 'document') {
    const look = await guarded(() => documentPage(bytes, input, meta, hints, part, page));
    return { image: look.image, findings: [...findings, ...look.findings] };
  }
  const kept = await guarded(() => tryPassthrough(bytes, input, meta, dpi));
  // A scan of the sheet at 300 dpi (A4 is not a whole number of pixels at 300 dpi) keeps its pixels.
  const capped = dpi > targetDpi + 1;
  const image = kept ?? (await guarded(() => reencode(input, meta, capped ? targetDpi / dpi : 1)));
  if (kept) findings.push({ code: 'jpeg_kept', message: 'camera JPEG kept without re-encoding; metadata segments removed', part, page });
  if (!kept && capped) findings.push({ code: 'resolution_capped', message: `page ${page} reduced from ${Math.round(dpi)} to ${targetDpi} dpi`, part, page });
  return { image, findings };
}

/** HEIC (iPhone, HEVC): prebuilt sharp lacks HEVC, so libheif in WebAssembly decodes it; libheif applies irot/imir itself. */
async function heicToRaw(bytes: Uint8Array): Promise<Sharp> {
  // Imported on first use: compiling libheif's WebAssembly costs every process that never sees a HEIC.
  const { default: decodeHeic } = await import('heic-decode');
  const images = await guarded(() => decodeHeic.all({ buffer: bytes }));
  try {
    const primary = images[0];
    if (!primary) throw new AppError('unprocessable', { detail: { de: 'Die HEIC-Datei enthält kein Bild; senden Sie das Foto erneut.', en: 'The HEIC file holds no image; send the photo again.' } });
    if (primary.width * primary.height > pixelLimit) refuse(new Error('Input image exceeds pixel limit'));
    const { data, width, height } = await guarded(() => primary.decode());
    return sharp(data, { raw: { width, height, channels: 4 }, limitInputPixels: pixelLimit });
  } finally {
    images.dispose();
  }
}

/** Turns one image file (every page of a TIFF) into page images; refuses more than `maxPages`, and a JPEG's scan bomb, before decoding any. */
export async function imageToPages(
  bytes: Uint8Array,
  mediaType: string,
  enhance: Enhance,
  part: number,
  maxPages: number,
  deadline: Deadline,
  hints: DocumentHints = {},
): Promise<ImageResult> {
  if (mediaType === 'image/heic' || mediaType === 'image/heif') {
    assertPageLimit(1, maxPages);
    const { image, findings } = await onePage(bytes, await heicToRaw(bytes), enhance, part, 1, hints);
    return { pages: [image], findings: [{ code: 'metadata_removed', message: 'HEIC metadata (EXIF, GPS, XMP) removed', part }, ...findings] };
  }
  // sharp decodes every JPEG in-process too (the preview, the re-encode), where no time budget stops it.
  if (mediaType === 'image/jpeg') assertScanCount(bytes);
  const options = decodeOptions(mediaType);
  const first = sharp(bytes, options);
  const meta = await guarded(() => first.metadata());
  const pageCount = mediaType === 'image/tiff' ? (meta.pages ?? 1) : 1;
  assertPageLimit(pageCount, maxPages);
  const result: ImageResult = { pages: [], findings: metadataFindings(meta, part) };
  for (let page = 0; page < pageCount; page++) {
    deadline.check(`image page ${page + 1}`);
    const input = page === 0 ? first : sharp(bytes, { ...options, page });
    const { image, findings } = await onePage(bytes, input, enhance, part, page + 1, page === 0 ? hints : { camera: hints.camera });
    result.pages.push(image);
    result.findings.push(...findings);
  }
  return result;
}
