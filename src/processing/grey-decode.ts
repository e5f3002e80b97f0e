/**
 * An image's grey pixels as stored (EXIF orientation not applied: callers fold it into their geometry).
 * A JPEG's luma is decoded in this thread by libjpeg-turbo (TurboJPEG, @julusian/jpeg-turbo): the Y
 * channel alone, no chroma planes, no colour conversion, with the fast integer IDCT the binding sets
 * (TJFLAG_FASTDCT): ~40 ms CPU for a 12 MP photo against ~160 ms for sharp's full decode plus its
 * conversion to grey (bench/photo-ocr.ts). Anything else, or a JPEG it does not decode cleanly
 * (errors and warnings alike), goes through sharp, whose decode options then decide. Native code is
 * not stopped by the time budget: callers refuse scan bombs before (jpeg.ts, assertScanCount).
 */
import jpegTurbo from '@julusian/jpeg-turbo';
import type { Metadata, Sharp } from 'sharp';
import type { GrayImage } from './corners.ts';

/** A JPEG's luma; undefined when libjpeg-turbo refuses or warns, or its size is not `width` × `height`. */
export function jpegLuma(jpeg: Uint8Array, width: number, height: number): GrayImage | undefined {
  let out: { data: Buffer; width: number; height: number };
  try {
    out = jpegTurbo.decompressSync(Buffer.from(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength), { format: jpegTurbo.FORMAT_GRAY });
  } catch {
    // Warnings (a truncated or corrupt stream) and refusals (12-bit, CMYK to grey) alike: sharp decides with the upload's own rules.
    return undefined;
  }
  if (out.width !== width || out.height !== height) return undefined;
  return { data: new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length), width, height };
}

/** `jpeg`: the file's bytes when it is a JPEG libjpeg-turbo may read (the caller checked its pixel count and scans); otherwise sharp decodes `input`. */
export async function storedGrey(input: Sharp, meta: Metadata, jpeg?: Uint8Array): Promise<GrayImage> {
  const fast = jpeg && meta.width && meta.height ? jpegLuma(jpeg, meta.width, meta.height) : undefined;
  if (fast) return fast;
  const { data, info } = await input.clone().flatten({ background: '#ffffff' }).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}
