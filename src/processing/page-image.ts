/**
 * A rendition page that is one JPEG and the marking (a photo or scan placed by assemble.ts): its image
 * as stored and where it sits, so OCR reads the image's own pixels at its own resolution (as OCRmyPDF
 * does) instead of rendering the page. Only this exact shape qualifies; any other page is rendered.
 */
import { PDFArray, PDFDict, PDFName, PDFNumber, PDFRawStream, type PDFContext, type PDFObject, type PDFPage } from 'pdf-lib';
import { decodeContent } from './decode.ts';
import { markingBands } from './marking.ts';

export interface PlacedJpeg {
  jpeg: Uint8Array;
  widthPx: number;
  heightPx: number;
  /** Points per pixel (the same across and down). */
  ptPerPx: number;
  /** The image's top-left corner on the page, in points (y up). */
  left: number;
  top: number;
}

/** Drawing one image upright, nothing else: `q w 0 0 h x y cm /Name Do Q`. */
const imageOnly = /^\s*q\s+(\S+)\s+0\s+0\s+(\S+)\s+(\S+)\s+(\S+)\s+cm\s+\/(\S+)\s+Do\s+Q\s*$/;
/** Keys an image dictionary of assemble.ts has; any other (Decode, SMask, Mask, DecodeParms, …) changes what the page shows. */
const plainImageKeys = new Set(['Type', 'Subtype', 'Width', 'Height', 'BitsPerComponent', 'ColorSpace', 'Filter', 'Length']);
/** Placements are written with full precision; a rounding's worth of slack. */
const tolerance = 0.01;

function num(context: PDFContext, value: PDFObject | undefined): number | undefined {
  const v = context.lookup(value);
  return v instanceof PDFNumber ? v.asNumber() : undefined;
}

/** The first content stream as text, when it is short enough to be one image's placement. */
function placementText(page: PDFPage): string | undefined {
  const contents = page.node.Contents();
  // Two streams: the page's content, then the marking (marking.ts appends it last to every page).
  if (!(contents instanceof PDFArray) || contents.size() !== 2) return undefined;
  const first = page.doc.context.lookup(contents.get(0));
  if (!(first instanceof PDFRawStream) || first.contents.length > 512) return undefined;
  const bytes = decodeContent(first);
  return bytes && Buffer.from(bytes).toString('latin1');
}

function jpegOf(context: PDFContext, dict: PDFDict | undefined, name: string): PDFRawStream | undefined {
  const xobjects = dict && context.lookup(dict.get(PDFName.of('XObject')));
  if (!(xobjects instanceof PDFDict) || xobjects.keys().length !== 1) return undefined;
  const image = context.lookup(xobjects.get(PDFName.of(name)));
  if (!(image instanceof PDFRawStream)) return undefined;
  const d = image.dict;
  if (!d.keys().every((k) => plainImageKeys.has(k.decodeText()))) return undefined;
  const colour = context.lookup(d.get(PDFName.of('ColorSpace')));
  const plain = context.lookup(d.get(PDFName.of('Subtype'))) === PDFName.of('Image') && context.lookup(d.get(PDFName.of('Filter'))) === PDFName.of('DCTDecode');
  // libjpeg-turbo decodes these to luma; CMYK JPEGs (inverted, Adobe) are rendered instead.
  const decodable = colour === PDFName.of('DeviceGray') || colour === PDFName.of('DeviceRGB');
  return plain && decodable && num(context, d.get(PDFName.of('BitsPerComponent'))) === 8 ? image : undefined;
}

/** The page's only image when the page is exactly one JPEG drawn upright between the marking bands; undefined otherwise. */
export function placedJpeg(page: PDFPage): PlacedJpeg | undefined {
  if (page.getRotation().angle % 360 !== 0) return undefined;
  const media = page.getMediaBox();
  if (media.x !== 0 || media.y !== 0) return undefined;
  const match = imageOnly.exec(placementText(page) ?? '');
  if (!match) return undefined;
  const [w, h, x, y] = match.slice(1, 5).map(Number) as [number, number, number, number];
  const context = page.doc.context;
  const image = jpegOf(context, page.node.Resources(), match[5]!);
  if (!image || !(w > 0 && h > 0)) return undefined;
  const widthPx = num(context, image.dict.get(PDFName.of('Width')));
  const heightPx = num(context, image.dict.get(PDFName.of('Height')));
  if (!widthPx || !heightPx) return undefined;
  const ptPerPx = w / widthPx;
  if (Math.abs(h / heightPx - ptPerPx) > ptPerPx * 0.001) return undefined;
  // Under the bands the marking paints white: pixels there are not on the page as it shows.
  const bands = markingBands(media.width, media.height);
  const inside = x >= -tolerance && y >= bands.footer - tolerance && x + w <= media.width + tolerance && y + h <= media.height - bands.header + tolerance;
  return inside ? { jpeg: image.contents, widthPx, heightPx, ptPerPx, left: x, top: y + h } : undefined;
}
