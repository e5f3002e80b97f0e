/** Binary 8-bit PGM, what pdftoppm writes on its pipe (text-layer.ts), read as a grey image. */
import type { GrayImage } from './corners.ts';

/** PGM header: "P5", width, height, maxval, each after whitespace, then one whitespace byte. */
const pgmHeader = /^P5\s+(\d+)\s+(\d+)\s+255\s/;

/** Binary 8-bit PGM as a grey image; undefined unless header and size agree. */
export function readPgm(bytes: Buffer): GrayImage | undefined {
  const header = pgmHeader.exec(bytes.subarray(0, 64).toString('latin1'));
  if (!header) return undefined;
  const [width, height] = [Number(header[1]), Number(header[2])];
  if (bytes.length < header[0].length + width * height) return undefined;
  const data = bytes.subarray(header[0].length, header[0].length + width * height);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height };
}
