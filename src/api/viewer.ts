/** Serves the viewer page and its bundle under /viewer. */
import { bundleViewerNow, VIEWER_DIST, VIEWER_FILES } from '../../viewer/assets.ts';
import { loadStaticAssets, staticAppRouter, type StaticAssets } from './static-app.ts';

export type ViewerAssets = StaticAssets;

/** The bundle built by `npm run build` (production), or bundled now with esbuild (a dev dependency). */
export function loadViewerAssets(production: boolean): Promise<ViewerAssets> {
  return loadStaticAssets({
    production,
    distDir: VIEWER_DIST,
    names: VIEWER_FILES,
    bundle: bundleViewerNow,
  });
}

export function viewerRouter(assets: ViewerAssets) {
  return staticAppRouter('/viewer', assets);
}
