/**
 * Deskew: the angle at which the ink's row profile is sharpest (text lines fall into few rows) is the
 * page's tilt; the page is turned back by it on a canvas large enough to lose nothing, on white. Searched
 * within ±15°, first in steps of 0.5°, then of 0.05° around the best.
 */
import sharp from 'sharp';
import type { GrayImage } from './corners.ts';
import type { Finding } from './types.ts';

export const maxSkewDegrees = 15;
/** Tilts below this are left alone: turning costs a resampling for no reader's benefit. */
export const minSkewDegrees = 0.2;
/** Ink pixels used for the estimate (evenly thinned beyond). */
const maxInkPoints = 60_000;

/** Coordinates of dark pixels (below the image's mean by a margin), centred; indexed loops, as this runs over every pixel of a page. */
function inkPoints(image: GrayImage): Float32Array {
  const { data, width, height } = image;
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i]!;
  const threshold = Math.min(160, (sum / data.length) * 0.6);
  let count = 0;
  for (let i = 0; i < data.length; i++) if (data[i]! < threshold) count++;
  const step = Math.max(1, Math.ceil(count / maxInkPoints));
  const points = new Float32Array(2 * Math.ceil(count / step));
  let seen = 0;
  let n = 0;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (data[row + x]! >= threshold || seen++ % step !== 0) continue;
      points[n++] = x - width / 2;
      points[n++] = y - height / 2;
    }
  }
  return points;
}

/** Sum of squared row counts of the ink projected at `degrees`: high when lines run along that angle. */
function sharpness(points: Float32Array, degrees: number, bins: Uint32Array): number {
  const t = (degrees * Math.PI) / 180;
  const sin = Math.sin(t);
  const cos = Math.cos(t);
  // Math.round(v) is Math.floor(v + 0.5), and the centred points project inside the bins (half a diagonal each way).
  const offset = bins.length / 2 + 0.5;
  bins.fill(0);
  for (let i = 0; i < points.length; i += 2) {
    const row = Math.floor(points[i + 1]! * cos - points[i]! * sin + offset);
    if (row >= 0 && row < bins.length) bins[row]!++;
  }
  let score = 0;
  for (let i = 0; i < bins.length; i++) score += bins[i]! * bins[i]!;
  return score;
}

function bestAngle(points: Float32Array, bins: Uint32Array, from: number, to: number, step: number): { angle: number; score: number } {
  let best = { angle: 0, score: -1 };
  for (let a = from; a <= to + 1e-9; a += step) {
    const score = sharpness(points, a, bins);
    if (score > best.score) best = { angle: a, score };
  }
  return best;
}

export interface Skew {
  /** Clockwise tilt in degrees (text lines descending to the right are positive); 0 without ink. */
  degrees: number;
  /** How much sharper the profile is at that angle than unturned (1: no better): text lines give far more than other content. */
  gain: number;
}

/** The page's tilt, searched within ±15°. */
export function estimateSkew(image: GrayImage): Skew {
  const points = inkPoints(image);
  if (points.length < 200) return { degrees: 0, gain: 1 };
  const bins = new Uint32Array(Math.ceil(Math.hypot(image.width, image.height)) + 2);
  const coarse = bestAngle(points, bins, -maxSkewDegrees, maxSkewDegrees, 0.5);
  const fine = bestAngle(points, bins, Math.max(-maxSkewDegrees, coarse.angle - 0.5), Math.min(maxSkewDegrees, coarse.angle + 0.5), 0.05);
  return { degrees: fine.angle, gain: fine.score / sharpness(points, 0, bins) };
}

/** Longest side of the preview the skew is measured in: letters must stay a few pixels tall. */
const skewSide = 1600;

/** The tilt of a grey page, measured on a preview of at most 1600 px. */
export async function measureSkew(page: GrayImage): Promise<Skew> {
  const scale = Math.min(1, skewSide / Math.max(page.width, page.height));
  const { data, info } = await sharp(page.data, { raw: { width: page.width, height: page.height, channels: 1 } })
    .resize(Math.max(1, Math.round(page.width * scale)), Math.max(1, Math.round(page.height * scale)), { fit: 'fill' })
    // One channel in, three out unless asked (libvips makes raw grey sRGB).
    .toColourspace('b-w')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return estimateSkew({ data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height });
}

/** Turns a grey image back by `degrees` (as `estimateSkew` measured it); the canvas grows so no corner is cut off, on white. */
export async function rotateBack(image: GrayImage, degrees: number): Promise<GrayImage> {
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 1 } })
    .rotate(-degrees, { background: '#ffffff' })
    .toColourspace('b-w')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

/** The scale that keeps a width × height box, turned by `degrees`, inside itself: nothing is cut off. */
export function fitScale(width: number, height: number, degrees: number): number {
  const t = (Math.abs(degrees) * Math.PI) / 180;
  const [cos, sin] = [Math.cos(t), Math.sin(t)];
  return Math.min(width / (width * cos + height * sin), height / (width * sin + height * cos));
}

/** The transfer note's word for a straightened page, German first. */
export function deskewedFinding(page: number, degrees: number): Finding {
  const shown = Math.abs(degrees).toFixed(1);
  return { code: 'deskewed', message: `Seite ${page} um ${shown.replace('.', ',')}° gerade gerichtet / page ${page} straightened by ${shown}°`, page };
}
