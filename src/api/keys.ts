import { Router } from 'express';
import type { JwkSet } from '../keys/ingest-keys.ts';

/** GET /v1/keys: the public JWKS clients encrypt uploads to and verify manifests with. */
export function keysRouter(jwks: () => JwkSet): Router {
  const router = Router();
  router.get('/v1/keys', (_req, res) => {
    res.type('application/jwk-set+json').send(JSON.stringify(jwks()));
  });
  return router;
}
