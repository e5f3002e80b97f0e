import { Router } from 'express';
import type { Registry } from 'prom-client';
import type { ObjectStore } from '../storage/object-store.ts';
import { AppError } from '../errors.ts';

/** Liveness, readiness (the store answers) and Prometheus metrics. */
export function healthRouter(deps: { store: ObjectStore; metrics: Registry }): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res, next) => {
    try {
      await deps.store.ping();
      res.json({ status: 'ready' });
    } catch (err) {
      next(new AppError('storage_unavailable', {
          detail: { de: 'Der Dokumentenspeicher ist nicht erreichbar; der Dienst ist nicht bereit.', en: 'The document store is unreachable; the service is not ready.' },
          cause: err,
        }));
    }
  });
  router.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.contentType).send(await deps.metrics.metrics());
  });
  return router;
}
