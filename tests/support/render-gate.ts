/** A page renderer that holds every render until released, and counts the renders that reached it. */
import type { PageRenderer } from '../../src/views/service.ts';

export interface RenderGate {
  readonly reached: number;
  wrap(renderer: PageRenderer): PageRenderer;
  /** Resolves once `n` renders have reached the gate. */
  until(n: number): Promise<void>;
  /** Lets every held and every later render through. */
  release(): void;
}

export function renderGate(): RenderGate {
  let reached = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  return {
    get reached() {
      return reached;
    },
    wrap: (renderer) => ({
      async renderPage(pdf, pageIndex, widthPx) {
        reached++;
        for (const w of waiters.filter((w) => reached >= w.n)) w.resolve();
        await released;
        return renderer.renderPage(pdf, pageIndex, widthPx);
      },
    }),
    until: (n) => new Promise<void>((resolve) => (reached >= n ? resolve() : waiters.push({ n, resolve }))),
    release: () => release(),
  };
}
