/** Serves the viewer page and its bundle under /viewer. */
import { loadStaticAssets, staticAppRouter, type StaticAssets } from './static-app.ts';

export type ViewerAssets = StaticAssets;

export const VIEWER_FILES = ['index.html', 'viewer.js', 'viewer.css'] as const;

/** The bundle built by `npm run build` (production), or bundled now with esbuild (a dev dependency). */
export function loadViewerAssets(production: boolean): Promise<ViewerAssets> {
  return loadStaticAssets({
    production,
    distDir: new URL('../../viewer/dist/', import.meta.url),
    names: VIEWER_FILES,
    bundle: async () => (await import('../../viewer/build.ts')).bundleViewer(),
  });
}

export function viewerRouter(assets: ViewerAssets) {
  return staticAppRouter('/viewer', assets);
}
