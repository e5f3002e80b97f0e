/**
 * Metadata stripping in the JPEG stream itself, so an unenhanced photo keeps its camera encoding (no
 * decode, no generation loss). Hand-written: no library rewrites JPEG segments without re-encoding.
 * Keeps only what decoding needs (tables, frame, scans, restart intervals, Adobe colour transform),
 * drops APPn (EXIF, GPS, XMP, ICC, maker notes), comments and everything after EOI (polyglot tails).
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

/** Returns the JPEG with only decoding segments, ending at EOI; throws unprocessable on a broken structure. */
export function stripJpegMetadata(bytes: Uint8Array): Uint8Array {
  if (bytes[0] !== 0xff || bytes[1] !== SOI) throw damaged({ de: 'kein Bildanfangs-Marker', en: 'no start-of-image marker' });
  const kept: Uint8Array[] = [bytes.subarray(0, 2)];
  let pos = 2;
  for (;;) {
    if (pos + 1 >= bytes.length) throw damaged({ de: 'vor dem Bildende abgeschnitten', en: 'truncated before end-of-image' });
    if (bytes[pos] !== 0xff) throw damaged({ de: `kein Marker bei Byte ${pos}`, en: `no marker at byte ${pos}` });
    const marker = bytes[pos + 1]!;
    if (marker === 0xff) {
      pos += 1; // fill bytes before a marker are allowed
      continue;
    }
    if (marker === EOI) {
      kept.push(bytes.subarray(pos, pos + 2));
      return Buffer.concat(kept);
    }
    if (pos + 3 >= bytes.length) throw damaged({ de: 'Segmentkopf abgeschnitten', en: 'truncated segment header' });
    const end = pos + 2 + ((bytes[pos + 2]! << 8) | bytes[pos + 3]!);
    if (end > bytes.length || end < pos + 4) throw damaged({ de: 'Segmentlänge reicht über das Dateiende', en: 'segment length outside the file' });
    if (marker === SOS) {
      const scanEnd = endOfScan(bytes, end);
      kept.push(bytes.subarray(pos, scanEnd));
      pos = scanEnd;
      continue;
    }
    // APP14 "Adobe" (12 bytes) tells the decoder whether 3 components are YCbCr or RGB.
    if (isDecodingSegment(marker) || (marker === APP14 && end - pos <= 16)) kept.push(bytes.subarray(pos, end));
    pos = end;
  }
}
