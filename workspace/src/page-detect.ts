/**
 * The page in a taken frame, found in the browser so the preview shows its corners at once: the
 * service's own detector (src/processing/corners.ts, plain TypeScript) on a downscaled copy, scaled back.
 */
import { detectPage, whiteness } from '../../src/processing/corners.ts';
import { h } from './dom.ts';
import type { Quad } from './corner-editor.ts';

/** Longest side of the copy searched: a few milliseconds on a phone, a few frame pixels per copy pixel. */
const SEARCH_SIDE = 480;

/** The page's corners in frame pixels (TL, TR, BR, BL), or undefined when the detector is unsure. */
export function detectCorners(frame: HTMLCanvasElement): Quad | undefined {
  const scale = Math.min(1, SEARCH_SIDE / Math.max(frame.width, frame.height));
  const width = Math.max(1, Math.round(frame.width * scale));
  const height = Math.max(1, Math.round(frame.height * scale));
  const small = h('canvas', { width: String(width), height: String(height) });
  const g = small.getContext('2d', { willReadFrequently: true })!;
  g.drawImage(frame, 0, 0, width, height);
  const rgba = g.getImageData(0, 0, width, height).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i]!;
    rgb[j + 1] = rgba[i + 1]!;
    rgb[j + 2] = rgba[i + 2]!;
  }
  const found = detectPage(whiteness(rgb, width, height));
  if (!found.sure) return undefined;
  const clamp = (v: number, max: number) => Math.round(Math.min(max, Math.max(0, v)));
  return found.corners.map(([x, y]) => [clamp((x * frame.width) / width, frame.width), clamp((y * frame.height) / height, frame.height)]) as Quad;
}
