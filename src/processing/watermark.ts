/**
 * The per-reader watermark, burned into a page image's pixels: who viewed it, when, which document.
 * Diagonal, semi-transparent and repeated across the page, so cropping cannot remove it and the
 * content stays readable underneath.
 */
import sharp from 'sharp';

export interface WatermarkText {
  readerName: string;
  readerId: string;
  documentId: string;
  /** The moment of viewing, printed in Europe/Berlin. */
  at: Date;
}

export interface WatermarkedImage {
  bytes: Buffer;
  mediaType: 'image/webp';
  width: number;
  height: number;
}

const berlinDateTime = new Intl.DateTimeFormat('de-DE', {
  timeZone: 'Europe/Berlin',
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});

/** The two lines repeated across the page. */
export function watermarkLines(text: WatermarkText): [string, string] {
  return [`${text.readerName} (${text.readerId})`, `${berlinDateTime.format(text.at)} Uhr · Dokument ${text.documentId}`];
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** Names are user data: keep them short and printable so one tile stays one tile. */
function printable(text: string, max: number): string {
  const clean = text.replace(/[\p{Cc}\p{Cf}]/gu, '');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/**
 * One tile: the two lines rotated 30° inside a box that holds them, so repeating the tile across the page
 * repeats the text without clipping it. Font size follows the page width so the mark reads the same at
 * every zoom; grey at 24% opacity with a faint light halo stays legible on dark and light content.
 */
export function watermarkTile(pageWidth: number, text: WatermarkText): { svg: string; width: number; height: number } {
  const [first, second] = watermarkLines(text).map((line) => printable(line, 90)) as [string, string];
  const size = Math.max(10, Math.round(pageWidth / 48));
  // DejaVu Sans averages about 0.6 em per character.
  const lineWidth = Math.max(first.length, second.length) * 0.62 * size;
  const blockHeight = size * 2.6;
  const angle = Math.PI / 6;
  const gap = size * 3;
  const width = Math.round(lineWidth * Math.cos(angle) + blockHeight * Math.sin(angle) + gap);
  const height = Math.round(lineWidth * Math.sin(angle) + blockHeight * Math.cos(angle) + gap);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
<g transform="rotate(-30 ${width / 2} ${height / 2})" font-family="DejaVu Sans" font-size="${size}" text-anchor="middle" fill="#1a1a2e" fill-opacity="0.24" stroke="#ffffff" stroke-opacity="0.18" stroke-width="${Math.max(1, size / 12)}">
<text x="${width / 2}" y="${height / 2 - size * 0.2}">${escapeXml(first)}</text>
<text x="${width / 2}" y="${height / 2 + size * 1.1}">${escapeXml(second)}</text>
</g></svg>`;
  return { svg, width, height };
}

/** Burns the watermark into `image` (any format sharp reads) and encodes WebP. */
export async function watermark(image: Uint8Array, text: WatermarkText, quality = 85): Promise<WatermarkedImage> {
  const page = sharp(image);
  const { width, height } = await page.metadata();
  if (!width || !height) throw new Error('watermark: the page image has no dimensions');
  const tile = await sharp(Buffer.from(watermarkTile(width, text).svg)).png().toBuffer();
  const { data, info } = await page
    .composite([{ input: tile, tile: true, gravity: 'northwest' }])
    .webp({ quality })
    .toBuffer({ resolveWithObject: true });
  return { bytes: data, mediaType: 'image/webp', width: info.width, height: info.height };
}
