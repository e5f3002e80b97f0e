/**
 * The perspective warp (perspective.ts with its WebAssembly kernel) against a plain reference: the exact
 * homography per pixel and bilinear sampling in floating point, white outside the photo.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { GrayImage, Quad } from '../../src/processing/corners.ts';
import { rectToQuad, warpToPage } from '../../src/processing/perspective.ts';
import { generateWarpKernel, WARP_KERNEL_PATH } from '../../tools/warp-kernel/generate.ts';

/** A smooth photo (neighbours differ by a few grey levels), so a position off by 0.01 px moves a pixel by less than one level. */
function photo(width: number, height: number): GrayImage {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = 128 + 100 * Math.sin(x / 9) * Math.cos(y / 7);
  return { data, width, height };
}

function reference(source: GrayImage, quad: Quad, width: number, height: number): Uint8Array {
  const h = rectToQuad(width, height, quad);
  const out = new Uint8Array(width * height);
  const { data, width: sw, height: sh } = source;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const d = h[6]! * (x + 0.5) + h[7]! * (y + 0.5) + h[8]!;
      const u = (h[0]! * (x + 0.5) + h[1]! * (y + 0.5) + h[2]!) / d - 0.5;
      const v = (h[3]! * (x + 0.5) + h[4]! * (y + 0.5) + h[5]!) / d - 0.5;
      if (!(u >= 0 && v >= 0 && u < sw - 1 && v < sh - 1)) {
        out[y * width + x] = 255;
        continue;
      }
      const [x0, y0] = [Math.floor(u), Math.floor(v)];
      const at = (dx: number, dy: number) => data[(y0 + dy) * sw + x0 + dx]!;
      const top = at(0, 0) + (at(1, 0) - at(0, 0)) * (u - x0);
      const bottom = at(0, 1) + (at(1, 1) - at(0, 1)) * (u - x0);
      out[y * width + x] = Math.round(top + (bottom - top) * (v - y0));
    }
  }
  return out;
}

function worstDifference(a: Uint8Array, b: Uint8Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('warpToPage', () => {
  const source = photo(640, 480);
  // Widths not a multiple of the kernel's 4 pixels a step, so its one-by-one tail runs too.
  const cases: Array<{ name: string; quad: Quad; width: number; height: number }> = [
    { name: 'a turned, keystoned page inside the photo', quad: [[80, 40], [560, 70], [590, 450], [50, 420]], width: 483, height: 389 },
    { name: 'a page reaching past the photo (white outside)', quad: [[-40, -30], [600, 10], [660, 500], [20, 470]], width: 655, height: 503 },
  ];
  for (const { name, quad, width, height } of cases) {
    it(`matches the exact bilinear warp within one grey level: ${name}`, () => {
      const page = warpToPage(source, quad, width, height);
      expect([page.width, page.height]).toEqual([width, height]);
      expect(worstDifference(page.data, reference(source, quad, width, height))).toBeLessThanOrEqual(1);
    });
  }

  it('is white where the page lies outside the photo', () => {
    const page = warpToPage(source, [[-200, -200], [100, -200], [100, 100], [-200, 100]], 60, 60);
    expect(page.data.slice(0, 60 * 30).every((g) => g === 255)).toBe(true);
  });

  it('gives the same page again after a larger warp (the kernel keeps its memory between warps)', () => {
    const quad: Quad = [[10, 10], [300, 20], [310, 200], [5, 190]];
    const first = warpToPage(source, quad, 150, 97);
    warpToPage(photo(1500, 1100), [[0, 0], [1500, 0], [1500, 1100], [0, 1100]], 1501, 1099);
    expect(warpToPage(source, quad, 150, 97).data).toEqual(first.data);
  });

  it('warps a photo too big for the kept kernel memory (64 MiB) with a memory of its own', () => {
    const big = { data: new Uint8Array(9000 * 8000).fill(7), width: 9000, height: 8000 };
    big.data[4000 * 9000 + 4500] = 200;
    // Pixel for pixel (sample points on the source grid): the one bright source pixel lands in the page's middle, alone.
    const page = warpToPage(big, [[4450, 3950], [4550, 3950], [4550, 4050], [4450, 4050]], 100, 100);
    expect(page.data[50 * 100 + 50]).toBe(200);
    expect(page.data.filter((g) => g !== 7)).toHaveLength(1);
    const quad: Quad = [[10, 10], [300, 20], [310, 200], [5, 190]];
    expect(worstDifference(warpToPage(source, quad, 150, 97).data, reference(source, quad, 150, 97))).toBeLessThanOrEqual(1);
  });
});

describe('src/processing/warp-kernel.wasm.ts', () => {
  it('is what wabt builds from warp-kernel.wat now (run `npm run gen:warp-kernel` after changing it)', async () => {
    expect(await readFile(WARP_KERNEL_PATH, 'utf8')).toBe(await generateWarpKernel());
  });
});
