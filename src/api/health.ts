import { Router } from 'express';
import type { ObjectStore } from '../storage/object-store.ts';
import { AppError } from '../errors.ts';

/** Liveness and readiness (the store answers). */
export function healthRouter(deps: { store: ObjectStore }): Router {
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
  return router;
}
