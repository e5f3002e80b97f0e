import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Router, type Response } from 'express';

const SPEC_PATH = fileURLToPath(new URL('../../openapi.yaml', import.meta.url));
const PAGE_PATH = fileURLToPath(new URL('./docs/index.html', import.meta.url));
const INIT_PATH = fileURLToPath(new URL('./docs/init.js', import.meta.url));
const REDOC_PATH = createRequire(import.meta.url).resolve('redoc/bundles/redoc.standalone.js');

/** GET /openapi.yaml (the contract), GET /docs (Redoc rendering it, every asset served from here), and GET / leading there. */
export function openapiRouter(): Router {
  const spec = readFileSync(SPEC_PATH);
  const router = Router();
  // A person who opens the bare address lands on the API reference.
  router.get('/', (_req, res) => {
    res.redirect(302, '/docs');
  });
  router.get('/openapi.yaml', (_req, res) => {
    res.type('application/yaml').send(spec);
  });
  router.get('/docs', (_req, res) => {
    relaxPolicyForRedoc(res);
    res.type('html').sendFile(PAGE_PATH);
  });
  router.get('/docs/init.js', (_req, res) => {
    res.type('text/javascript').sendFile(INIT_PATH);
  });
  router.get('/docs/redoc.standalone.js', (_req, res) => {
    res.type('text/javascript').sendFile(REDOC_PATH);
  });
  return router;
}

/**
 * Redoc injects <style> elements at run time, some before it could apply a nonce (its scrollbar CSS),
 * so this page alone allows inline styles; scripts stay 'self' only and the page shows nothing but
 * our own description. Search runs in a blob: worker and icons are data: images.
 */
function relaxPolicyForRedoc(res: Response): void {
  const policy = String(res.getHeader('Content-Security-Policy') ?? '')
    .replace(/style-src ([^;]*)/, "style-src $1 'unsafe-inline'")
    .replace(/img-src ([^;]*)/, 'img-src $1 data:');
  res.setHeader('Content-Security-Policy', `${policy};worker-src blob:`);
}
