/**
 * Bounded stream decoding. Every compressed stream that processing decodes, and every one the
 * rendition keeps, is held to an output bound, so a compression bomb (a few KB inflating to GB) is
 * refused instead of filling memory here and again in every viewer that opens the rendition.
 */
import { inflateSync } from 'node:zlib';
import { PDFArray, PDFDict, PDFName, PDFNumber, PDFRawStream, decodePDFRawStream, type PDFContext } from 'pdf-lib';
import { AppError } from '../kernel/errors.ts';

const N = (name: string) => PDFName.of(name);

/** Any stream but an image's: content, forms, fonts, ICC profiles. A page's content of 32 MB is already absurd. */
export const maxStreamBytes = 32 * 2 ** 20;
/** An image's decoded size follows from its dimensions; a little slack for encoders that pad. */
const imageSlack = 64 * 1024;
/** The largest image accepted: 100 million pixels. */
const maxImagePixels = 100_000_000;
const compressing = new Set(['FlateDecode', 'LZWDecode', 'RunLengthDecode']);
const wrappers = new Set(['ASCIIHexDecode', 'ASCII85Decode', 'LZWDecode', 'RunLengthDecode']);

function bomb(limit: number): AppError {
  return new AppError('unprocessable', {
    detail: {
      de: `Ein Datenstrom im PDF entpackt sich auf mehr als ${Math.round(limit / 2 ** 20)} MB (eine Kompressionsbombe); exportieren oder scannen Sie das Dokument erneut.`,
      en: `A stream in the PDF decompresses to more than ${Math.round(limit / 2 ** 20)} MB (a compression bomb); export or scan the document again.`,
    },
  });
}

function filters(context: PDFContext, dict: PDFDict): string[] {
  const value = context.lookup(dict.get(N('Filter')));
  const list = value instanceof PDFArray ? value.asArray().map((v) => context.lookup(v)) : value === undefined ? [] : [value];
  return list.map((f) => (f instanceof PDFName ? f.decodeText() : '?'));
}

/** Inflates at most `limit` bytes; throws the bomb refusal beyond it, undefined when zlib cannot read the data. */
export function boundedInflate(data: Uint8Array, limit: number): Uint8Array | undefined {
  try {
    return inflateSync(data, { maxOutputLength: limit + 1 });
  } catch (err) {
    if (err instanceof RangeError || (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw bomb(limit);
    return undefined;
  }
}

/** pdf-lib's decoders read on demand: asking for one byte more than the bound decodes no further than that. */
function decodeWithin(stream: PDFRawStream, limit: number): Uint8Array | undefined {
  let bytes: Uint8Array;
  try {
    bytes = decodePDFRawStream(stream).getBytes(limit + 1) as Uint8Array;
  } catch {
    return undefined;
  }
  if (bytes.length > limit) throw bomb(limit);
  return bytes;
}

/**
 * The decoded bytes of a content stream (no filter, Flate, LZW, RunLength, ASCII wrappers), at most
 * `limit`; undefined where it cannot be decoded faithfully here (predictors, unknown filters).
 */
export function decodeContent(stream: PDFRawStream, limit = maxStreamBytes): Uint8Array | undefined {
  const context = stream.dict.context;
  const chain = filters(context, stream.dict);
  if (chain.length > 4) return undefined;
  if (stream.dict.has(N('DecodeParms'))) {
    const parms = context.lookup(stream.dict.get(N('DecodeParms')));
    const predictor = parms instanceof PDFDict ? context.lookup(parms.get(N('Predictor'))) : undefined;
    if (parms instanceof PDFArray || (predictor instanceof PDFNumber && predictor.asNumber() > 1)) return undefined;
  }
  let data: Uint8Array | undefined = stream.contents;
  for (const filter of chain) {
    if (filter === 'FlateDecode') data = boundedInflate(data, limit);
    else if (wrappers.has(filter)) data = decodeWithin(PDFRawStream.of(context.obj({ Filter: filter }), data), limit);
    else return undefined;
    if (data === undefined) return undefined;
    if (data.length > limit) throw bomb(limit);
  }
  return data;
}

function positive(context: PDFContext, dict: PDFDict, key: string): number {
  const v = context.lookup(dict.get(N(key)));
  return v instanceof PDFNumber && v.asNumber() > 0 ? Math.ceil(v.asNumber()) : 0;
}

/** The decoded size an image stream may have: rows × bytes per row, generously (up to 4 components, 16 bits). */
function imageBound(context: PDFContext, dict: PDFDict): number {
  const [w, h] = [positive(context, dict, 'Width'), positive(context, dict, 'Height')];
  if (w * h > maxImagePixels) {
    throw new AppError('unprocessable', {
      detail: {
        de: `Ein Bild im PDF hat ${w} × ${h} Pixel, mehr als 100 Millionen; scannen Sie die Seite mit geringerer Auflösung.`,
        en: `An image in the PDF has ${w} × ${h} pixels, more than 100 million; scan the page at a lower resolution.`,
      },
    });
  }
  const bpc = Math.min(16, positive(context, dict, 'BitsPerComponent') || 8);
  return h * (Math.ceil((w * 4 * bpc) / 8) + 1) + imageSlack;
}

/** Proves every compressed stream in `context` decodes within its bound (an image's from its size); throws the bomb refusal otherwise. */
export function assertStreamsBounded(context: PDFContext): void {
  for (const [, object] of context.enumerateIndirectObjects()) {
    if (!(object instanceof PDFRawStream)) continue;
    const chain = filters(context, object.dict);
    if (!chain.some((f) => compressing.has(f))) continue;
    const limit = context.lookup(object.dict.get(N('Subtype'))) === N('Image') ? imageBound(context, object.dict) : maxStreamBytes;
    // A lone Flate (nearly all) through zlib; chains through pdf-lib's decoders, which stop at the bound too.
    if (chain.length === 1 && chain[0] === 'FlateDecode') boundedInflate(object.contents, limit);
    else decodeWithin(object, limit);
  }
}
