/**
 * Uncompressed multi-page baseline TIFF of 8-bit grey pages, each page with its own size and resolution
 * (one IFD a page, one strip), for tesseract to read several pages from one pipe. Nothing to compress:
 * it only travels through a pipe.
 */
import type { GrayImage } from './corners.ts';

// Written here: sharp writes multi-page TIFF only as pages of one size and one resolution (pageHeight), UTIF.js only RGBA.

export interface TiffPage extends GrayImage {
  /** Dots per inch, written as the page's X and Y resolution (whole dpi, as leptonica rounds it anyway). */
  dpi: number;
}

const SHORT = 3;
const LONG = 4;
const RATIONAL = 5;
const entrySize = 12;
const tagCount = 12;
/** Tag count, entries, next-IFD offset, then the two resolution rationals (8 bytes each). */
const ifdSize = 2 + tagCount * entrySize + 4 + 16;

/** The pages as one little-endian TIFF; offsets are 32-bit, so the whole file stays below 4 GiB. */
export function multiPageTiff(pages: TiffPage[]): Uint8Array {
  if (pages.length === 0) throw new Error('a TIFF needs at least one page');
  const total = 8 + pages.reduce((sum, p) => sum + p.data.length + (p.data.length % 2) + ifdSize, 0);
  if (total >= 2 ** 32) throw new Error('the pages are too large for one TIFF');
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set([0x49, 0x49, 42, 0]);
  let at = 8;
  let link = 4;
  for (const page of pages) {
    if (page.data.length !== page.width * page.height) throw new Error(`a ${page.width}×${page.height} page needs ${page.width * page.height} bytes`);
    const strip = at;
    out.set(page.data, strip);
    // IFDs start on a word boundary.
    at += page.data.length + (page.data.length % 2);
    view.setUint32(link, at, true);
    const resolution = at + 2 + tagCount * entrySize + 4;
    const dpi = Math.max(1, Math.round(page.dpi));
    const entries: Array<[tag: number, type: number, value: number]> = [
      [256, LONG, page.width],
      [257, LONG, page.height],
      [258, SHORT, 8],
      [259, SHORT, 1],
      [262, SHORT, 1],
      [273, LONG, strip],
      [277, SHORT, 1],
      [278, LONG, page.height],
      [279, LONG, page.data.length],
      [282, RATIONAL, resolution],
      [283, RATIONAL, resolution + 8],
      // Inch: the TIFF default, said outright.
      [296, SHORT, 2],
    ];
    view.setUint16(at, tagCount, true);
    entries.forEach(([tag, type, value], i) => {
      const entry = at + 2 + i * entrySize;
      view.setUint16(entry, tag, true);
      view.setUint16(entry + 2, type, true);
      view.setUint32(entry + 4, 1, true);
      if (type === SHORT) view.setUint16(entry + 8, value, true);
      else view.setUint32(entry + 8, value, true);
    });
    link = at + 2 + tagCount * entrySize;
    for (const offset of [resolution, resolution + 8]) {
      view.setUint32(offset, dpi, true);
      view.setUint32(offset + 4, 1, true);
    }
    at += ifdSize;
  }
  return out;
}
