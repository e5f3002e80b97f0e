/**
 * Even lighting for photographed pages: the paper's own brightness is estimated on a coarse grid
 * (the brightest pixels of each cell, so ink does not count), smoothed, and every pixel is divided by
 * it. Shadows and light falloff vanish and the paper becomes white while ink stays dark.
 */
import type { GrayImage } from './corners.ts';

/** Cell side in pixels: larger than a letter, smaller than a shadow's gradient. */
const cell = 48;
/** Paper at this share of its local brightness or more is white. */
const paperLevel = 0.88;

/** Per cell, a high percentile of its pixels: the paper under the ink. */
function cellBrightness(image: GrayImage): { grid: Float32Array; cols: number; rows: number } {
  const cols = Math.ceil(image.width / cell);
  const rows = Math.ceil(image.height / cell);
  const grid = new Float32Array(cols * rows);
  const histogram = new Uint32Array(256);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      histogram.fill(0);
      let count = 0;
      for (let y = r * cell; y < Math.min(image.height, (r + 1) * cell); y++) {
        const row = y * image.width;
        for (let x = c * cell; x < Math.min(image.width, (c + 1) * cell); x++) {
          histogram[image.data[row + x]!]!++;
          count++;
        }
      }
      let seen = 0;
      let v = 255;
      while (v > 0 && (seen += histogram[v]!) < 0.1 * count) v--;
      grid[r * cols + c] = Math.max(v, 16);
    }
  }
  return { grid, cols, rows };
}

/** A cell of solid ink (a photo, a black bar) takes the brightest of its neighbours, then all are averaged 3×3. */
function smooth(grid: Float32Array, cols: number, rows: number): Float32Array {
  const at = (g: Float32Array, c: number, r: number) => g[Math.min(rows - 1, Math.max(0, r)) * cols + Math.min(cols - 1, Math.max(0, c))]!;
  const lifted = new Float32Array(grid.length);
  const out = new Float32Array(grid.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let max = 0;
      for (let dr = -1; dr <= 1; dr++) for (let dc = -1; dc <= 1; dc++) max = Math.max(max, at(grid, c + dc, r + dr));
      lifted[r * cols + c] = max;
    }
  }
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let sum = 0;
      for (let dr = -1; dr <= 1; dr++) for (let dc = -1; dc <= 1; dc++) sum += at(lifted, c + dc, r + dr);
      out[r * cols + c] = sum / 9;
    }
  }
  return out;
}

/** Divides every pixel by the paper brightness around it (bilinear between cell centres), in place. */
export function evenLighting(image: GrayImage): GrayImage {
  const { grid: raw, cols, rows } = cellBrightness(image);
  const grid = smooth(raw, cols, rows);
  const { data, width, height } = image;
  const rowLevels = new Float32Array(width);
  for (let y = 0; y < height; y++) {
    const gy = Math.min(rows - 1, Math.max(0, (y + 0.5) / cell - 0.5));
    const r0 = Math.floor(gy);
    const r1 = Math.min(rows - 1, r0 + 1);
    const fy = gy - r0;
    for (let x = 0; x < width; x++) {
      const gx = Math.min(cols - 1, Math.max(0, (x + 0.5) / cell - 0.5));
      const c0 = Math.floor(gx);
      const c1 = Math.min(cols - 1, c0 + 1);
      const fx = gx - c0;
      const top = grid[r0 * cols + c0]! * (1 - fx) + grid[r0 * cols + c1]! * fx;
      const bottom = grid[r1 * cols + c0]! * (1 - fx) + grid[r1 * cols + c1]! * fx;
      rowLevels[x] = (top * (1 - fy) + bottom * fy) * paperLevel;
    }
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const v = (data[row + x]! / rowLevels[x]!) * 255;
      data[row + x] = v > 255 ? 255 : v;
    }
  }
  return image;
}
