/**
 * Photos and scans → page images: orientation applied, every metadata block dropped, sRGB, at most
 * 300 dpi on the A4 page they become, optionally enhanced into a "scan look".
 */
import { availableParallelism } from 'node:os';
import sharp, { type Metadata, type Sharp, type SharpOptions } from 'sharp';
import { AppError } from '../errors.ts';
import { assertPageLimit, type Deadline } from './budget.ts';
import { stripJpegMetadata } from './jpeg.ts';
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

/** Contrast stretch (1st–99th percentile of luminance) from a shrink-on-load preview instead of a full second pass. */
async function contrastFromPreview(input: Sharp): Promise<{ a: number; b: number }> {
  const { data } = await input.clone().resize(256, 256, { fit: 'inside' }).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  const histogram = new Uint32Array(256);
  for (const v of data) histogram[v]!++;
  const percentile = (p: number) => {
    let seen = 0;
    for (let v = 0; v < 256; v++) if ((seen += histogram[v]!) >= p * data.length) return v;
    return 255;
  };
  const low = percentile(0.01);
  const high = Math.max(low + 1, percentile(0.99));
  const a = 255 / (high - low);
  return { a, b: -low * a };
}

/**
 * The decode path: cap at 300 dpi, sRGB on white, optionally the scan look, JPEG without metadata. Pure
 * rotations stay a PDF transform (turning pixels would hold the whole image in memory); mirrors are applied.
 */
async function reencode(input: Sharp, meta: Metadata, enhance: Enhance, scale: number): Promise<PageImage> {
  const turn = turnsByOrientation[meta.orientation ?? 1];
  const width = Math.max(1, Math.floor((turn === undefined ? orientedSize(meta).width : meta.width!) * scale));
  let pipeline = (turn === undefined ? input.clone().rotate() : input.clone())
    .resize({ width, withoutEnlargement: true })
    .flatten({ background: '#ffffff' });
  if (enhance === 'document') {
    const { a, b } = await contrastFromPreview(input);
    pipeline = pipeline.toColourspace('b-w').linear(a, b).sharpen({ sigma: 0.6 });
  } else {
    pipeline = pipeline.toColourspace('srgb');
  }
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

async function onePage(bytes: Uint8Array, input: Sharp, enhance: Enhance, part: number, page: number) {
  const meta = await guarded(() => input.metadata());
  const { width, height } = orientedSize(meta);
  const { dpi } = a4Frame(width, height);
  const findings = [...resolutionFindings(dpi, page, part)];
  const kept = enhance === 'none' ? await guarded(() => tryPassthrough(bytes, input, meta, dpi)) : undefined;
  // A scan of the sheet at 300 dpi (A4 is not a whole number of pixels at 300 dpi) keeps its pixels.
  const capped = dpi > targetDpi + 1;
  const image = kept ?? (await guarded(() => reencode(input, meta, enhance, capped ? targetDpi / dpi : 1)));
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

/** Turns one image file (every page of a TIFF) into page images; refuses more than `maxPages` before decoding any. */
export async function imageToPages(
  bytes: Uint8Array,
  mediaType: string,
  enhance: Enhance,
  part: number,
  maxPages: number,
  deadline: Deadline,
): Promise<ImageResult> {
  if (mediaType === 'image/heic' || mediaType === 'image/heif') {
    assertPageLimit(1, maxPages);
    const { image, findings } = await onePage(bytes, await heicToRaw(bytes), enhance, part, 1);
    return { pages: [image], findings: [{ code: 'metadata_removed', message: 'HEIC metadata (EXIF, GPS, XMP) removed', part }, ...findings] };
  }
  const options = decodeOptions(mediaType);
  const first = sharp(bytes, options);
  const meta = await guarded(() => first.metadata());
  const pageCount = mediaType === 'image/tiff' ? (meta.pages ?? 1) : 1;
  assertPageLimit(pageCount, maxPages);
  const result: ImageResult = { pages: [], findings: metadataFindings(meta, part) };
  for (let page = 0; page < pageCount; page++) {
    deadline.check(`image page ${page + 1}`);
    const input = page === 0 ? first : sharp(bytes, { ...options, page });
    const { image, findings } = await onePage(bytes, input, enhance, part, page + 1);
    result.pages.push(image);
    result.findings.push(...findings);
  }
  return result;
}
