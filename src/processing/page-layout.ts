/** Where an image goes: an A4 page (German authorities' paper) in the image's orientation, the marking bands left free. */
import { planPage, type PagePlan } from './rebuild.ts';

const a4 = { short: 595.28, long: 841.89 };

/** The cap: 300 dpi on the page (RESISCAN's minimum for scans), never more stored. */
export const targetDpi = 300;

export interface ImageFrame {
  plan: PagePlan;
  /** Resolution of the image as a scan of the whole A4 sheet, in dots per inch: a 300 dpi A4 scan is 300 and keeps its pixels. */
  dpi: number;
}

/** The frame an upright image of this pixel size fills: A4, the image scaled (never resampled) into the area the marking leaves free. */
export function a4Frame(widthPx: number, heightPx: number): ImageFrame {
  const landscape = widthPx > heightPx;
  const pageW = landscape ? a4.long : a4.short;
  const pageH = landscape ? a4.short : a4.long;
  const ptPerPx = Math.min(pageW / widthPx, pageH / heightPx);
  return { plan: planPage(pageW, pageH, 'fit'), dpi: 72 / ptPerPx };
}
