import express, { Router } from 'express';
import { devTokenRequestSchema, type DevIssuer } from '../auth/dev-issuer.ts';
import { parseBody } from '../kernel/validation.ts';
import type { Admission } from './middleware/admission.ts';

/** POST /v1/dev/token: development mode only, so a newcomer can try every role. */
export function devTokenRouter(issuer: DevIssuer, admission: Admission): Router {
  const router = Router();
  router.post('/v1/dev/token', admission.admit(), express.json({ limit: '16kb' }), async (req, res) => {
    res.json(await issuer.issue(parseBody(devTokenRequestSchema, req)));
  });
  return router;
}
