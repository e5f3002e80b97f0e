/** A piscina task that decodes a JPEG's luma (grey-decode.ts) in its worker thread, as the processing pool's worker does; its size, or null. */
import { jpegLuma } from '../../src/processing/grey-decode.ts';

export default function ({ jpeg, width, height }: { jpeg: Uint8Array; width: number; height: number }): number[] | null {
  const luma = jpegLuma(jpeg, width, height);
  return luma ? [luma.width, luma.height, luma.data.length] : null;
}
