/** A browser app (the viewer, the workspace) served from memory under one path: no CDN, nothing inline. */
import { readFile } from 'node:fs/promises';
import { Router } from 'express';

/** File name → content; what tools/bundle-app.ts produces. */
export type StaticAssets = ReadonlyMap<string, { body: Buffer; type: string }>;

export const ASSET_TYPES = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' } as const;

/** The bundle in `distDir` built by `npm run build` (production), or bundled now (esbuild is a dev dependency). */
export async function loadStaticAssets(options: { production: boolean; distDir: URL; names: readonly string[]; bundle: () => Promise<StaticAssets> }): Promise<StaticAssets> {
  if (!options.production) return options.bundle();
  const assets = new Map<string, { body: Buffer; type: string }>();
  for (const name of options.names) {
    const body = await readFile(new URL(name, options.distDir)).catch((err: unknown) => {
      throw new Error(`${new URL(name, options.distDir).pathname} is missing: run "npm run build" before starting in production`, { cause: err });
    });
    const ext = name.split('.').pop() as keyof typeof ASSET_TYPES;
    assets.set(name, { body, type: ASSET_TYPES[ext] });
  }
  return assets;
}

/** GET <mount>/ and <mount>/<file>; `extra` may add headers to each asset response. */
export function staticAppRouter(mount: string, assets: StaticAssets, extra?: (res: import('express').Response) => void): Router {
  const router = Router();
  router.get(`${mount}{/:file}`, (req, res, next) => {
    // Relative asset URLs need the trailing slash; a redirect keeps the URL fragment.
    if (req.path === mount) return res.redirect(302, `${mount}/`);
    const asset = assets.get((req.params as { file?: string }).file ?? 'index.html');
    if (!asset) return next();
    extra?.(res);
    res.type(asset.type).send(asset.body);
  });
  return router;
}
