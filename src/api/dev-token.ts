import express, { Router } from 'express';
import { devTokenRequestSchema, type DevIssuer } from '../auth/dev-issuer.ts';
import { parseBody } from '../validation.ts';

/** POST /v1/dev/token: development mode only, so a newcomer can try every role. */
export function devTokenRouter(issuer: DevIssuer): Router {
  const router = Router();
  router.post('/v1/dev/token', express.json({ limit: '16kb' }), async (req, res) => {
    res.json(await issuer.issue(parseBody(devTokenRequestSchema, req)));
  });
  return router;
}
