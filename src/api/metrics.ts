import { timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import type { Registry } from 'prom-client';
import { AppError } from '../kernel/errors.ts';

/**
 * GET /metrics (Prometheus). With a token, only `Authorization: Bearer <token>` reads it (Prometheus's
 * `authorization` scrape setting); without one it belongs on its own listener (METRICS_PORT).
 */
export function metricsRouter(registry: Registry, token: string | undefined): Router {
  const router = Router();
  router.get('/metrics', async (req, res) => {
    if (token !== undefined && !sameSecret(req.headers.authorization ?? '', `Bearer ${token}`)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      throw new AppError('unauthenticated', {
        detail: {
          de: 'Senden Sie das Metrik-Token (METRICS_TOKEN) als "Authorization: Bearer <token>".',
          en: 'Send the metrics token (METRICS_TOKEN) as "Authorization: Bearer <token>".',
        },
      });
    }
    res.type(registry.contentType).send(await registry.metrics());
  });
  return router;
}

/** Constant-time comparison, so the token cannot be guessed byte by byte from response times. */
function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
