/**
 * Metadata stripping in the JPEG stream itself, so an unenhanced photo keeps its camera encoding (no
 * decode, no generation loss). Hand-written: no library rewrites JPEG segments without re-encoding.
 * Keeps only what decoding needs (tables, frame, scans, restart intervals, Adobe colour transform),
 * drops APPn (EXIF, GPS, XMP, ICC, maker notes), comments and everything after EOI (polyglot tails).
 * The same segment walk counts a JPEG's scans, so a scan bomb is refused before any decoder reads it.
 */
import { AppError, type Localized } from '../kernel/errors.ts';

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP14 = 0xee;

/** Segments a decoder needs: SOFn, DHT, DAC, DQT, DRI. */
function isDecodingSegment(marker: number): boolean {
  const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
  return isSof || marker === 0xc4 || marker === 0xcc || marker === 0xdb || marker === 0xdd;
}

/** Segments libjpeg passes over by their length alone (jdmarker.c skip_variable and its kin): APPn, COM, DNL. */
function isSkippedByLength(marker: number): boolean {
  return (marker >= 0xe0 && marker <= 0xef) || marker === 0xfe || marker === 0xdc;
}

function damaged(what: Localized): AppError {
  return new AppError('unprocessable', { detail: { de: `Das JPEG ist beschädigt (${what.de}); senden Sie das Foto erneut.`, en: `The JPEG is damaged (${what.en}); send the photo again.` } });
}

/** Index of the next marker after entropy-coded data starting at `from` (skips FF00 stuffing and RSTn). */
function endOfScan(bytes: Uint8Array, from: number): number {
  let i = from;
  for (;;) {
    i = bytes.indexOf(0xff, i);
    if (i < 0 || i + 1 >= bytes.length) throw damaged({ de: 'Bilddaten enden ohne Marker', en: 'scan data ends without a marker' });
    const next = bytes[i + 1]!;
    if (next === 0x00 || next === 0xff || (next >= 0xd0 && next <= 0xd7)) {
      i += next === 0xff ? 1 : 2;
      continue;
    }
    return i;
  }
}

interface Segment {
  marker: number;
  start: number;
  /** After the segment; for SOS after its entropy-coded data. */
  end: number;
}

/** Where libjpeg finds the next marker from `from`: bytes that are none (it warns "extraneous bytes" and skips them) passed over; -1 at the end. */
function nextMarker(bytes: Uint8Array, from: number): number {
  for (let i = bytes.indexOf(0xff, from); i >= 0 && i + 1 < bytes.length; i = bytes.indexOf(0xff, i + 1)) {
    const next = bytes[i + 1]!;
    if (next !== 0x00 && next !== 0xff) return i;
  }
  return -1;
}

/**
 * The segments after SOI up to EOI (included). `lenient`: junk between segments and parameterless
 * markers are skipped as libjpeg does, and the walk ends quietly at the data's end; else they refuse.
 */
function* segments(bytes: Uint8Array, lenient: boolean): Generator<Segment> {
  let pos = 2;
  for (;;) {
    if (lenient && (pos = nextMarker(bytes, pos)) < 0) return;
    if (pos + 1 >= bytes.length) throw damaged({ de: 'vor dem Bildende abgeschnitten', en: 'truncated before end-of-image' });
    if (bytes[pos] !== 0xff) throw damaged({ de: `kein Marker bei Byte ${pos}`, en: `no marker at byte ${pos}` });
    const marker = bytes[pos + 1]!;
    if (marker === 0xff) {
      pos += 1; // fill bytes before a marker are allowed
      continue;
    }
    if (marker === EOI) {
      yield { marker, start: pos, end: pos + 2 };
      return;
    }
    // RSTn and TEM carry no length; libjpeg passes over them between segments, and over reserved markers (below SOF0) met inside a restart-marked scan (jpeg_resync_to_restart).
    if (lenient && (marker < 0xc0 || (marker >= 0xd0 && marker <= 0xd7))) {
      pos += 2;
      continue;
    }
    if (pos + 3 >= bytes.length) throw damaged({ de: 'Segmentkopf abgeschnitten', en: 'truncated segment header' });
    const length = (bytes[pos + 2]! << 8) | bytes[pos + 3]!;
    // libjpeg skips an APPn, COM or DNL whose length is below 2 as empty and reads on after it.
    const end = pos + 2 + (lenient && length < 2 && isSkippedByLength(marker) ? 2 : length);
    if (end > bytes.length || end < pos + 4) throw damaged({ de: 'Segmentlänge reicht über das Dateiende', en: 'segment length outside the file' });
    const segment = { marker, start: pos, end: marker === SOS ? endOfScan(bytes, end) : end };
    yield segment;
    pos = segment.end;
  }
}

/** Returns the JPEG with only decoding segments, ending at EOI; throws unprocessable on a broken structure. */
export function stripJpegMetadata(bytes: Uint8Array): Uint8Array {
  if (bytes[0] !== 0xff || bytes[1] !== SOI) throw damaged({ de: 'kein Bildanfangs-Marker', en: 'no start-of-image marker' });
  const kept: Uint8Array[] = [bytes.subarray(0, 2)];
  for (const { marker, start, end } of segments(bytes, false)) {
    // APP14 "Adobe" (12 bytes) tells the decoder whether 3 components are YCbCr or RGB.
    if (marker === EOI || marker === SOS || isDecodingSegment(marker) || (marker === APP14 && end - start <= 16)) kept.push(bytes.subarray(start, end));
    if (marker === EOI) return Buffer.concat(kept);
  }
  throw damaged({ de: 'vor dem Bildende abgeschnitten', en: 'truncated before end-of-image' });
}

/**
 * Scans a decoder would run, counted as libjpeg reads them (up to EOI or where the data ends; a
 * truncation is the decoders' to judge). Each scan of a progressive JPEG makes libjpeg pass over the
 * whole image once.
 */
export function scanCount(bytes: Uint8Array): number {
  let scans = 0;
  try {
    for (const { marker } of segments(bytes, true)) if (marker === SOS) scans++;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
  }
  return scans;
}

/**
 * Far more scans than a real JPEG has (libjpeg's own progression: 10 for colour): each costs a pass over
 * the image, ~1 ms CPU per 12 MP, in native code no time budget can stop (measured: 10 000 scans on
 * 12 MP, 10 s for libjpeg-turbo, 13–19 s for sharp per decode). libjpeg-turbo suggests 500 for its tools.
 */
export const maxScans = 100;

/** Refuses a JPEG with more than `maxScans` scans before any decoder reads it. */
export function assertScanCount(bytes: Uint8Array): void {
  const scans = scanCount(bytes);
  if (scans <= maxScans) return;
  throw new AppError('unprocessable', {
    detail: {
      de: `Das JPEG hat ${scans} Scans (erlaubt sind höchstens ${maxScans}; ein übliches progressives JPEG hat etwa 10): es wäre beim Dekodieren unverhältnismäßig teuer. Speichern Sie das Foto erneut als normales JPEG und senden Sie es noch einmal.`,
      en: `The JPEG has ${scans} scans (at most ${maxScans} are allowed; a usual progressive JPEG has about 10): decoding it would cost out of all proportion. Save the photo again as a plain JPEG and send it again.`,
    },
  });
}
