/**
 * Perspective correction: the homography that maps a flat page onto the photographed quadrilateral,
 * and a bilinear warp of a grey image through it (each output pixel looks up where it came from).
 */
import type { GrayImage, Quad } from './corners.ts';

/** Row-major 3×3 matrix. */
export type Homography = Float64Array;

/** Solves A x = b (n×n, Gaussian elimination with partial pivoting). */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    [b[col], b[pivot]] = [b[pivot]!, b[col]!];
    const p = a[col]![col]!;
    if (Math.abs(p) < 1e-12) throw new Error('degenerate quadrilateral');
    for (let r = col + 1; r < n; r++) {
      const f = a[r]![col]! / p;
      for (let c = col; c < n; c++) a[r]![c]! -= f * a[col]![c]!;
      b[r]! -= f * b[col]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r]!;
    for (let c = r + 1; c < n; c++) s -= a[r]![c]! * x[c]!;
    x[r] = s / a[r]![r]!;
  }
  return x;
}

/** The homography taking the rectangle 0..width × 0..height onto `quad` (TL, TR, BR, BL). */
export function rectToQuad(width: number, height: number, quad: Quad): Homography {
  const from = [
    [0, 0],
    [width, 0],
    [width, height],
    [0, height],
  ];
  const a: number[][] = [];
  const b: number[] = [];
  for (let i = 0; i < 4; i++) {
    const [x, y] = from[i]!;
    const [u, v] = quad[i]!;
    a.push([x!, y!, 1, 0, 0, 0, -u * x!, -u * y!]);
    b.push(u);
    a.push([0, 0, 0, x!, y!, 1, -v * x!, -v * y!]);
    b.push(v);
  }
  return Float64Array.from([...solve(a, b), 1]);
}

/** Page size in pixels the quadrilateral stands for: the longer of each pair of opposite sides. */
export function flatSize(quad: Quad): { width: number; height: number } {
  const d = (i: number, j: number) => Math.hypot(quad[i]![0] - quad[j]![0], quad[i]![1] - quad[j]![1]);
  return { width: Math.round(Math.max(d(0, 1), d(3, 2))), height: Math.round(Math.max(d(0, 3), d(1, 2))) };
}

/** Warps `source` so that `quad` becomes a width × height page; outside the photo is white. */
export function warpToPage(source: GrayImage, quad: Quad, width: number, height: number): GrayImage {
  const h = rectToQuad(width, height, quad);
  const { data: src, width: sw, height: sh } = source;
  const out = new Uint8Array(width * height);
  const maxU = sw - 1;
  const maxV = sh - 1;
  const [h0, h1, h2, h3, h4, h5, h6, h7, h8] = h as unknown as number[];
  for (let y = 0; y < height; y++) {
    const cy = y + 0.5;
    // Along a row the projective numerators and denominator grow linearly: add instead of multiply.
    let nu = h0! * 0.5 + h1! * cy + h2!;
    let nv = h3! * 0.5 + h4! * cy + h5!;
    let dw = h6! * 0.5 + h7! * cy + h8!;
    let o = y * width;
    for (let x = 0; x < width; x++, o++) {
      const inv = 1 / dw;
      const u = nu * inv - 0.5;
      const v = nv * inv - 0.5;
      nu += h0!;
      nv += h3!;
      dw += h6!;
      if (!(u >= 0 && v >= 0 && u < maxU && v < maxV)) {
        out[o] = 255;
        continue;
      }
      // Non-negative here, so truncation is the floor.
      const x0 = u | 0;
      const y0 = v | 0;
      const fx = u - x0;
      const fy = v - y0;
      const i = y0 * sw + x0;
      const a = src[i]!;
      const c = src[i + sw]!;
      const top = a + (src[i + 1]! - a) * fx;
      const bottom = c + (src[i + sw + 1]! - c) * fx;
      out[o] = top + (bottom - top) * fy + 0.5;
    }
  }
  return { data: out, width, height };
}
