/**
 * Perspective correction: the homography that maps a flat page onto the photographed quadrilateral,
 * and a bilinear warp of a grey image through it (each output pixel looks up where it came from).
 */
import type { GrayImage, Quad } from './corners.ts';
import { warpKernelWasm } from './warp-kernel.wasm.ts';

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

/**
 * The quadrilateral, given in pixels of the image as displayed (`width` × `height`, EXIF `orientation`
 * applied), in pixels of the image as stored: the warp then reads the stored pixels, with no turn first.
 */
export function storedQuad(quad: Quad, orientation: number, width: number, height: number): Quad {
  const toStored: Record<number, (x: number, y: number) => readonly [number, number]> = {
    2: (x, y) => [width - x, y],
    3: (x, y) => [width - x, height - y],
    4: (x, y) => [x, height - y],
    5: (x, y) => [y, x],
    6: (x, y) => [y, width - x],
    7: (x, y) => [height - y, width - x],
    8: (x, y) => [height - y, x],
  };
  const map = toStored[orientation];
  return map ? (quad.map(([x, y]) => map(x, y)) as unknown as Quad) : quad;
}

/** Page size in pixels the quadrilateral stands for: the longer of each pair of opposite sides. */
export function flatSize(quad: Quad): { width: number; height: number } {
  const d = (i: number, j: number) => Math.hypot(quad[i]![0] - quad[j]![0], quad[i]![1] - quad[j]![1]);
  return { width: Math.round(Math.max(d(0, 1), d(3, 2))), height: Math.round(Math.max(d(0, 3), d(1, 2))) };
}

/** Output pixels per span: the source position is exact at both ends and linear in between (off by < 0.01 px at a phone's keystone), so one division serves 64 pixels. */
const span = 64;
/** Fraction bits of the fixed-point source position: room for sources up to 2^19 pixels a side (int32). */
const fraction = 12;
const one = 1 << fraction;
/** Span ends this close to the border take the exact path: rounding the step must not step outside. */
const margin = 1 / 64;

/** Bilinear sample at (u, v), white outside; the exact path for spans that touch the photo's border. */
function sampleAt(src: Uint8Array, sw: number, sh: number, u: number, v: number): number {
  if (!(u >= 0 && v >= 0 && u < sw - 1 && v < sh - 1)) return 255;
  const x0 = u | 0;
  const y0 = v | 0;
  const fx = u - x0;
  const fy = v - y0;
  const i = y0 * sw + x0;
  const top = src[i]! + (src[i + 1]! - src[i]!) * fx;
  const bottom = src[i + sw]! + (src[i + sw + 1]! - src[i + sw]!) * fx;
  return top + (bottom - top) * fy + 0.5;
}

/** The span kernel (warp-kernel.wat), compiled once; an instance works on the memory it is given. */
const kernelModule = new WebAssembly.Module(Buffer.from(warpKernelWasm, 'base64'));
interface Kernel {
  memory: WebAssembly.Memory;
  spans: (table: number, count: number, src: number, sw: number, out: number) => void;
}
/** Kernel memory kept for the next warp up to this size (a 24 MP photo and its page): a fresh memory's page faults cost more than the kernel saves. */
const keptBytes = 64 * 2 ** 20;
let kept: Kernel | undefined;

/** A kernel with at least `bytes` of memory: the kept one, or for a bigger warp one of its own that is dropped after. */
function kernelFor(bytes: number): Kernel {
  if (kept && kept.memory.buffer.byteLength >= bytes) return kept;
  const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
  const kernel = { memory, spans: new WebAssembly.Instance(kernelModule, { warp: { memory } }).exports.spans as Kernel['spans'] };
  if (bytes <= keptBytes) kept = kernel;
  return kernel;
}

/** Integers per span in the kernel's table: output offset, pixels, u, v, du, dv. */
const entry = 6;
const align = (n: number) => Math.ceil(n / 16) * 16;

/**
 * Warps `source` so that `quad` becomes a width × height page; outside the photo is white. Only the
 * output pixels are computed. Spans wholly inside the photo are listed for the WebAssembly kernel (integer
 * bilinear, 8-bit weights, no bounds tests); spans that touch the border are sampled here pixel by pixel.
 */
export function warpToPage(source: GrayImage, quad: Quad, width: number, height: number): GrayImage {
  const h = rectToQuad(width, height, quad);
  const { data: src, width: sw, height: sh } = source;
  // The kernel's memory: the photo, then the page, then the span table.
  const outAt = align(src.length);
  const tableAt = align(outAt + width * height);
  const bytes = tableAt + height * Math.ceil(width / span) * entry * 4;
  const { memory, spans } = kernelFor(bytes);
  new Uint8Array(memory.buffer).set(src);
  const out = new Uint8Array(memory.buffer, outAt, width * height);
  const table = new Int32Array(memory.buffer, tableAt);
  let count = 0;
  const [h0, h1, h2, h3, h4, h5, h6, h7, h8] = h as unknown as [number, number, number, number, number, number, number, number, number];
  const fixed = Math.max(sw, sh) < 2 ** (31 - fraction);
  const inside = (u: number, v: number) => fixed && u >= margin && v >= margin && u < sw - 1 - margin && v < sh - 1 - margin;
  for (let y = 0; y < height; y++) {
    const cy = y + 0.5;
    const nu = h1 * cy + h2;
    const nv = h4 * cy + h5;
    const dw = h7 * cy + h8;
    const row = y * width;
    // Source position of a pixel's centre (pixel centres at +0.5, sample grid at −0.5); a span's end is the next one's start.
    const at = (xc: number, d = h6 * xc + dw) => [(h0 * xc + nu) / d - 0.5, (h3 * xc + nv) / d - 0.5] as const;
    let [ua, va] = at(0.5);
    for (let x = 0; x < width; x += span) {
      const end = Math.min(width, x + span);
      const [ub, vb] = at(end + 0.5);
      const n = end - x;
      if (inside(ua, va) && inside(ub, vb)) {
        const t = count++ * entry;
        table[t] = row + x;
        table[t + 1] = n;
        table[t + 2] = Math.round(ua * one);
        table[t + 3] = Math.round(va * one);
        table[t + 4] = Math.round(((ub - ua) / n) * one);
        table[t + 5] = Math.round(((vb - va) / n) * one);
      } else {
        // The photo's region is convex: a span with both ends inside lies inside; the others go pixel by pixel.
        for (let i = 0; i < n; i++) out[row + x + i] = sampleAt(src, sw, sh, ...at(x + i + 0.5));
      }
      [ua, va] = [ub, vb];
    }
  }
  spans(tableAt, count, 0, sw, outAt);
  return { data: out.slice(), width, height };
}
