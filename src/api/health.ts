import { Router } from 'express';
import type { ObjectStore } from '../storage/object-store.ts';
import { AppError } from '../kernel/errors.ts';

/** Liveness and readiness (the blob store and the metadata database answer). */
export function healthRouter(deps: { store: ObjectStore; metadata: { ping(): Promise<void> } }): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res, next) => {
    try {
      await deps.store.ping();
    } catch (err) {
      return next(
        new AppError('storage_unavailable', {
          detail: { de: 'Der Dokumentenspeicher ist nicht erreichbar; der Dienst ist nicht bereit.', en: 'The document store is unreachable; the service is not ready.' },
          cause: err,
        }),
      );
    }
    try {
      await deps.metadata.ping();
    } catch (err) {
      return next(
        new AppError('storage_unavailable', {
          detail: { de: 'Die Metadaten-Datenbank ist nicht erreichbar; der Dienst ist nicht bereit.', en: 'The metadata database is unreachable; the service is not ready.' },
          cause: err,
        }),
      );
    }
    res.json({ status: 'ready' });
  });
  return router;
}
