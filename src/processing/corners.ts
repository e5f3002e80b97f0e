/**
 * Page detection in a camera photo: the sheet is the largest bright, colourless region (paper is
 * white, desks are coloured or darker), its four edges are fitted as lines and intersected. When the
 * evidence is weak (low contrast, the page touching the frame, not a quadrilateral) the answer is
 * "unsure" with a reason, and the caller keeps the whole photo.
 */

/** A point in image pixels. */
export type Point = readonly [x: number, y: number];
/** Top-left, top-right, bottom-right, bottom-left of the page as it reads. */
export type Quad = readonly [Point, Point, Point, Point];

export interface GrayImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export type Detection = { sure: true; corners: Quad } | { sure: false; reason: 'low_contrast' | 'fills_frame' | 'no_page' };

/** Otsu's separability below this: page and background are not two clear populations. */
const minSeparability = 0.55;
/** A page smaller than this share of the frame is not what was photographed. */
const minAreaShare = 0.12;
/** Share of a frame side the region may touch before it counts as filling the frame. */
const maxBorderTouch = 0.05;

/** Otsu threshold of a histogram and its separability (between-class over total variance). */
function otsu(histogram: Uint32Array, count: number): { threshold: number; separability: number } {
  let sum = 0;
  let sumSq = 0;
  for (let v = 0; v < 256; v++) {
    sum += v * histogram[v]!;
    sumSq += v * v * histogram[v]!;
  }
  const total = sumSq / count - (sum / count) ** 2;
  let best = { threshold: 128, between: 0 };
  let weight = 0;
  let partial = 0;
  for (let t = 0; t < 255; t++) {
    weight += histogram[t]!;
    partial += t * histogram[t]!;
    if (weight === 0 || weight === count) continue;
    const w0 = weight / count;
    const m0 = partial / weight;
    const m1 = (sum - partial) / (count - weight);
    const between = w0 * (1 - w0) * (m0 - m1) ** 2;
    if (between > best.between) best = { threshold: t, between };
  }
  return { threshold: best.threshold, separability: total > 0 ? best.between / total : 0 };
}

/** Paper-likeness per pixel of an RGB preview: the smallest channel (white paper high, coloured or dark desks low). */
export function whiteness(rgb: Uint8Array, width: number, height: number): GrayImage {
  const data = new Uint8Array(width * height);
  for (let i = 0, j = 0; i < data.length; i++, j += 3) data[i] = Math.min(rgb[j]!, rgb[j + 1]!, rgb[j + 2]!);
  return { data, width, height };
}

/** The largest 4-connected region of `mask`, as a mask of its own (flood fill with an explicit stack). */
function largestRegion(mask: Uint8Array, width: number, height: number): { region: Uint8Array; area: number } {
  const label = new Int32Array(mask.length);
  const stack = new Int32Array(mask.length);
  let best = { id: 0, area: 0 };
  let next = 0;
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || label[start]) continue;
    const id = ++next;
    let top = 0;
    let area = 0;
    stack[top++] = start;
    label[start] = id;
    while (top > 0) {
      const p = stack[--top]!;
      area++;
      const x = p % width;
      const neighbours = [x > 0 ? p - 1 : -1, x < width - 1 ? p + 1 : -1, p - width, p + width];
      for (const q of neighbours) {
        if (q < 0 || q >= mask.length || !mask[q] || label[q]) continue;
        label[q] = id;
        stack[top++] = q;
      }
    }
    if (area > best.area) best = { id, area };
  }
  const region = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) region[i] = label[i] === best.id ? 1 : 0;
  return { region, area: best.area };
}

/** Outline points (the first and last region pixel of every row and column) and the area the rows span, holes (text) included. */
function outline(region: Uint8Array, width: number, height: number): { points: Point[]; spanArea: number } {
  const points: Point[] = [];
  let spanArea = 0;
  for (let y = 0; y < height; y++) {
    let first = -1;
    let last = -1;
    for (let x = 0; x < width; x++) {
      if (!region[y * width + x]) continue;
      if (first < 0) first = x;
      last = x;
    }
    if (first >= 0) points.push([first, y], [last + 1, y]);
    if (first >= 0) spanArea += last + 1 - first;
  }
  for (let x = 0; x < width; x++) {
    let first = -1;
    let last = -1;
    for (let y = 0; y < height; y++) {
      if (!region[y * width + x]) continue;
      if (first < 0) first = y;
      last = y;
    }
    if (first >= 0) points.push([x, first], [x, last + 1]);
  }
  return { points, spanArea };
}

/** The point furthest along a direction: a rough corner for pages turned less than 45°. */
function extreme(points: Point[], dx: number, dy: number): Point {
  let best = points[0]!;
  for (const p of points) if (p[0] * dx + p[1] * dy > best[0] * dx + best[1] * dy) best = p;
  return best;
}

interface Line {
  /** Unit normal and offset: n·p = c. */
  nx: number;
  ny: number;
  c: number;
}

/** Total least squares line through points near the segment a–b (its middle 80 %, within `band` pixels). */
function fitEdge(points: Point[], a: Point, b: Point, band: number): Line | undefined {
  const length = Math.hypot(b[0] - a[0], b[1] - a[1]);
  if (length === 0) return undefined;
  const ux = (b[0] - a[0]) / length;
  const uy = (b[1] - a[1]) / length;
  const near = points.filter((p) => {
    const along = (p[0] - a[0]) * ux + (p[1] - a[1]) * uy;
    const across = Math.abs((p[0] - a[0]) * -uy + (p[1] - a[1]) * ux);
    return along > 0.1 * length && along < 0.9 * length && across < band;
  });
  if (near.length < 8) return undefined;
  let mx = 0;
  let my = 0;
  for (const p of near) {
    mx += p[0];
    my += p[1];
  }
  mx /= near.length;
  my /= near.length;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (const p of near) {
    sxx += (p[0] - mx) ** 2;
    syy += (p[1] - my) ** 2;
    sxy += (p[0] - mx) * (p[1] - my);
  }
  // The normal is the eigenvector of the smaller eigenvalue of the scatter matrix.
  const angle = 0.5 * Math.atan2(2 * sxy, sxx - syy) + Math.PI / 2;
  const nx = Math.cos(angle);
  const ny = Math.sin(angle);
  return { nx, ny, c: nx * mx + ny * my };
}

function intersect(l: Line, m: Line): Point | undefined {
  const det = l.nx * m.ny - l.ny * m.nx;
  if (Math.abs(det) < 1e-6) return undefined;
  return [(l.c * m.ny - l.ny * m.c) / det, (l.nx * m.c - l.c * m.nx) / det];
}

/** Twice the signed area of a polygon (positive: clockwise in image coordinates). */
function signedArea(points: readonly Point[]): number {
  let area = 0;
  for (let i = 0; i < points.length; i++) {
    const [x0, y0] = points[i]!;
    const [x1, y1] = points[(i + 1) % points.length]!;
    area += x0 * y1 - x1 * y0;
  }
  return area;
}

/** Convex, clockwise, corners neither too sharp nor too blunt for a photographed sheet. */
export function plausibleQuad(q: Quad): boolean {
  for (let i = 0; i < 4; i++) {
    const [ax, ay] = q[(i + 3) % 4]!;
    const [bx, by] = q[i]!;
    const [cx, cy] = q[(i + 1) % 4]!;
    const cross = (bx - ax) * (cy - by) - (by - ay) * (cx - bx);
    if (cross <= 0) return false;
    const cos = ((ax - bx) * (cx - bx) + (ay - by) * (cy - by)) / (Math.hypot(ax - bx, ay - by) * Math.hypot(cx - bx, cy - by));
    if (Math.abs(cos) > Math.cos((50 * Math.PI) / 180)) return false;
  }
  return true;
}

/** Pixels of the region touching each side of the frame, as a share of that side. */
function borderTouch(region: Uint8Array, width: number, height: number): number {
  let top = 0;
  let bottom = 0;
  let left = 0;
  let right = 0;
  for (let x = 0; x < width; x++) {
    top += region[x]!;
    bottom += region[(height - 1) * width + x]!;
  }
  for (let y = 0; y < height; y++) {
    left += region[y * width]!;
    right += region[y * width + width - 1]!;
  }
  return Math.max(top / width, bottom / width, left / height, right / height);
}

/** Finds the page in a whiteness preview (see `whiteness`); corners in preview pixels. */
export function detectPage(image: GrayImage): Detection {
  const { data, width, height } = image;
  const histogram = new Uint32Array(256);
  for (const v of data) histogram[v]!++;
  const { threshold, separability } = otsu(histogram, data.length);
  if (separability < minSeparability) return { sure: false, reason: 'low_contrast' };
  const mask = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) mask[i] = data[i]! > threshold ? 1 : 0;
  const { region, area } = largestRegion(mask, width, height);
  if (area < minAreaShare * data.length) return { sure: false, reason: 'no_page' };
  if (borderTouch(region, width, height) > maxBorderTouch) return { sure: false, reason: 'fills_frame' };
  const { points, spanArea } = outline(region, width, height);
  const rough: Quad = [extreme(points, -1, -1), extreme(points, 1, -1), extreme(points, 1, 1), extreme(points, -1, 1)];
  const band = Math.max(3, 0.02 * Math.hypot(width, height));
  const edges = [0, 1, 2, 3].map((i) => fitEdge(points, rough[i]!, rough[(i + 1) % 4]!, band));
  const corners = [0, 1, 2, 3].map((i) => {
    const before = edges[(i + 3) % 4];
    const after = edges[i];
    return before && after ? intersect(before, after) : undefined;
  });
  if (corners.some((c) => c === undefined)) return { sure: false, reason: 'no_page' };
  const quad = corners as unknown as Quad;
  // The region must fill its quadrilateral: a torn-off corner or a second sheet makes it something else.
  const quadArea = Math.abs(signedArea(quad)) / 2;
  if (!plausibleQuad(quad) || Math.abs(spanArea / quadArea - 1) > 0.05) return { sure: false, reason: 'no_page' };
  return { sure: true, corners: quad };
}
