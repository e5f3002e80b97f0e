/**
 * A page photo with its four corners as handles: dragged with a finger or the mouse (pointer events),
 * moved with the arrow keys when focused. Corners are pixels of the image as shown (the JPEG sent has
 * no orientation tag), ordered top-left, top-right, bottom-right, bottom-left, as the service takes them.
 */
import { h } from './dom.ts';
import { t } from './i18n.ts';

export type Point = [number, number];
export type Quad = [Point, Point, Point, Point];

export interface Shot {
  /** The frame as taken; drawn again for the preview and the thumbnails. */
  frame: HTMLCanvasElement;
  jpeg: Uint8Array;
  corners: Quad;
  /** Corners found in the browser or moved by a person are sent; otherwise the service finds the page itself. */
  known: boolean;
}

export const fullFrame = (width: number, height: number): Quad => [
  [0, 0],
  [width, 0],
  [width, height],
  [0, height],
];

/** True when the four points go round one way only: a page, not a bow tie or a dent. */
export function isConvex(q: Quad): boolean {
  const turns = q.map((p, i) => {
    const a = q[(i + 1) % 4]!;
    const b = q[(i + 2) % 4]!;
    return Math.sign((a[0] - p[0]) * (b[1] - a[1]) - (a[1] - p[1]) * (b[0] - a[0]));
  });
  return turns.every((s) => s > 0) || turns.every((s) => s < 0);
}

/** Arrow keys move a corner by this share of the image's longer side. */
const KEY_STEP = 0.01;

export function cornerEditor(shot: Shot): HTMLElement {
  const m = t();
  const { width, height } = shot.frame;
  const canvas = h('canvas', { class: 'corner-canvas', width: String(width), height: String(height), 'aria-hidden': 'true' });
  const draw = () => {
    const g = canvas.getContext('2d')!;
    g.drawImage(shot.frame, 0, 0);
    g.lineWidth = Math.max(3, width / 200);
    g.strokeStyle = '#f59e0b';
    g.beginPath();
    shot.corners.forEach(([x, y], i) => (i ? g.lineTo(x, y) : g.moveTo(x, y)));
    g.closePath();
    g.stroke();
  };
  const box = h('div', { class: 'corner-editor', id: 'corner-editor' }, canvas);
  const place = (handle: HTMLElement, i: number) => {
    const [x, y] = shot.corners[i]!;
    handle.style.left = `${(x / width) * 100}%`;
    handle.style.top = `${(y / height) * 100}%`;
    handle.setAttribute('aria-label', m.cornerLabel(i, Math.round(x), Math.round(y)));
  };
  const move = (handle: HTMLElement, i: number, x: number, y: number) => {
    shot.corners[i] = [Math.round(Math.min(width, Math.max(0, x))), Math.round(Math.min(height, Math.max(0, y)))];
    shot.known = true;
    place(handle, i);
    draw();
  };
  shot.corners.forEach((_, i) => {
    const handle = h('button', { type: 'button', class: 'corner', id: `corner-${i}`, 'data-corner': String(i) });
    handle.addEventListener('pointerdown', (e) => {
      handle.setPointerCapture(e.pointerId);
      e.preventDefault();
    });
    handle.addEventListener('pointermove', (e) => {
      if (!handle.hasPointerCapture(e.pointerId)) return;
      const r = canvas.getBoundingClientRect();
      move(handle, i, ((e.clientX - r.left) / r.width) * width, ((e.clientY - r.top) / r.height) * height);
    });
    handle.addEventListener('keydown', (e) => {
      const step = KEY_STEP * Math.max(width, height);
      const d = ({ ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] } as Record<string, [number, number]>)[e.key];
      if (!d) return;
      e.preventDefault();
      const [x, y] = shot.corners[i]!;
      move(handle, i, x + d[0], y + d[1]);
    });
    place(handle, i);
    box.append(handle);
  });
  draw();
  return box;
}
