/** Serves the viewer page and its bundle under /viewer, from memory: no CDN, nothing inline. */
import { readFile } from 'node:fs/promises';
import { Router } from 'express';

/** File name → content; what viewer/build.ts produces. */
export type ViewerAssets = ReadonlyMap<string, { body: Buffer; type: string }>;

export const VIEWER_FILES = { 'index.html': 'text/html; charset=utf-8', 'viewer.js': 'text/javascript; charset=utf-8', 'viewer.css': 'text/css; charset=utf-8' } as const;

const distDir = new URL('../../viewer/dist/', import.meta.url);

/** The bundle built by `npm run build` (production), or bundled now with esbuild (a dev dependency). */
export async function loadViewerAssets(production: boolean): Promise<ViewerAssets> {
  if (!production) return (await import('../../viewer/build.ts')).bundleViewer();
  const assets = new Map<string, { body: Buffer; type: string }>();
  for (const [name, type] of Object.entries(VIEWER_FILES)) {
    const body = await readFile(new URL(name, distDir)).catch((err: unknown) => {
      throw new Error(`viewer/dist/${name} is missing: run "npm run build" before starting in production`, { cause: err });
    });
    assets.set(name, { body, type });
  }
  return assets;
}

export function viewerRouter(assets: ViewerAssets): Router {
  const router = Router();
  router.get('/viewer{/:file}', (req, res, next) => {
    // Relative asset URLs need the trailing slash; a redirect keeps the URL fragment with the ticket.
    if (req.path === '/viewer') return res.redirect(302, '/viewer/');
    const asset = assets.get((req.params as { file?: string }).file ?? 'index.html');
    if (!asset) return next();
    res.type(asset.type).send(asset.body);
  });
  return router;
}
