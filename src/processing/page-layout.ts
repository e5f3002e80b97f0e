/** Where an image goes: A4 (German authorities' paper) in the image's orientation, minus the marking bands. */
import { markingBands } from './marking.ts';

const a4 = { short: 595.28, long: 841.89 };

/** The cap: 300 dpi on the page (RESISCAN's minimum for scans), never more stored. */
export const targetDpi = 300;

export interface ImageFrame {
  /** Page size in points before marking pads the bands back on. */
  widthPt: number;
  heightPt: number;
  /** Resolution of the image as placed, in dots per inch. */
  dpi: number;
}

/** The frame an upright image of this pixel size fills on its A4 page. */
export function a4Frame(widthPx: number, heightPx: number): ImageFrame {
  const landscape = widthPx > heightPx;
  const pageW = landscape ? a4.long : a4.short;
  const pageH = landscape ? a4.short : a4.long;
  const bands = markingBands(pageW, pageH);
  const boxH = pageH - bands.header - bands.footer;
  const ptPerPx = Math.min(pageW / widthPx, boxH / heightPx);
  return { widthPt: pageW, heightPt: boxH, dpi: 72 / ptPerPx };
}
