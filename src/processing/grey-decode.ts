/**
 * An image's grey pixels as stored (EXIF orientation not applied: callers fold it into their geometry).
 * A JPEG goes through libjpeg-turbo's `djpeg -grayscale` on a pipe: it decodes the luma channel alone,
 * skipping the chroma planes and the colour conversion: a 12 MP photo costs ~105 ms CPU this way, the
 * process start included, against ~160 ms for sharp's full decode plus its conversion to grey
 * (bench/photo-ocr.ts, docs/BENCHMARKS.md). Anything else, or a JPEG djpeg does not
 * decode cleanly, goes through sharp, whose decode options then decide.
 */
import type { Metadata, Sharp } from 'sharp';
import type { GrayImage } from './corners.ts';
import type { Pipe } from './helpers.ts';
import { pipeThrough } from './pipe.ts';

/** PGM header: "P5", width, height, maxval, each after whitespace, then one whitespace byte. */
const pgmHeader = /^P5\s+(\d+)\s+(\d+)\s+255\s/;

/** Binary 8-bit PGM (what djpeg and pdftoppm write) as a grey image; undefined unless header and size agree. */
export function readPgm(bytes: Buffer): GrayImage | undefined {
  const header = pgmHeader.exec(bytes.subarray(0, 64).toString('latin1'));
  if (!header) return undefined;
  const [width, height] = [Number(header[1]), Number(header[2])];
  if (bytes.length < header[0].length + width * height) return undefined;
  const data = bytes.subarray(header[0].length, header[0].length + width * height);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height };
}

/** A JPEG's luma through djpeg; undefined when djpeg refuses or warns, or its size is not `width` × `height`. */
export async function viaDjpeg(jpeg: Uint8Array, width: number, height: number, pipe: Pipe): Promise<GrayImage | undefined> {
  const pixels = width * height;
  let out: Buffer;
  try {
    out = await pipe('djpeg', ['-grayscale', '-pnm'], jpeg, {
      timeoutMs: 60_000,
      // A progressive JPEG holds every component's coefficients (2 bytes each) until the end.
      memoryBytes: 8 * pixels + 256 * 2 ** 20,
      maxOutputBytes: pixels + 64,
      step: { de: 'Das Dekodieren des Fotos', en: 'Decoding the photo' },
    });
  } catch {
    // Warnings (exit 2) and refusals alike: sharp decides with the upload's own rules.
    return undefined;
  }
  const image = readPgm(out);
  return image && image.width === width && image.height === height ? image : undefined;
}

/**
 * `jpeg`: the file's bytes when it is a JPEG djpeg may read (the caller checked its pixel count); otherwise sharp decodes `input`.
 * `pipe` runs djpeg: in this thread by default, through the main thread from a pool worker (helpers.ts).
 */
export async function storedGrey(input: Sharp, meta: Metadata, jpeg?: Uint8Array, pipe: Pipe = pipeThrough): Promise<GrayImage> {
  const fast = jpeg && meta.width && meta.height ? await viaDjpeg(jpeg, meta.width, meta.height, pipe) : undefined;
  if (fast) return fast;
  const { data, info } = await input.clone().flatten({ background: '#ffffff' }).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}
