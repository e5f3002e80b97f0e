import path from 'node:path';
import type { Logger } from 'pino';
import type { Histogram } from 'prom-client';
import type { AppDeps } from './app.ts';
import type { Config } from './config.ts';
import { createDevIssuer } from './auth/dev-issuer.ts';
import { createOidcAuthenticator } from './auth/oidc.ts';
import { AuditService } from './audit/service.ts';
import { AuditTrail } from './audit/trail.ts';
import { composeJwks, loadIngestKeys } from './crypto/ingest-keys.ts';
import { createManifestSigner, loadManifestKey } from './crypto/manifest.ts';
import { decryptPart } from './crypto/jwe.ts';
import { loadKekRing } from './crypto/kek-ring.ts';
import { composeViews } from './compose-views.ts';
import { DocumentService, type Processor } from './documents.ts';
import { auditViewRecorder } from './view-recorder.ts';
import { IdempotencyKeys } from './idempotency.ts';
import { sweepOrphans } from './maintenance/orphan-sweep.ts';
import { createMetrics } from './metrics.ts';
import { encryptedSizeBound } from './api/middleware/upload-limits.ts';
import { Admission } from './api/middleware/admission.ts';
import { createProcessingPool } from './processing/pool.ts';
import { EncryptedStore } from './storage/encrypted-store.ts';
import { FsStore } from './storage/fs-store.ts';
import type { ObjectStore } from './storage/object-store.ts';
import { S3Store } from './storage/s3-store.ts';
import { ObjectUploadStore } from './uploads/upload-store.ts';
import { XdomeaExport } from './xdomea/export.ts';

/** Small JSON bodies: four slots for every upload slot, each body at most 16 KiB (express.json's limit on those routes). */
const SMALL_BODY_SLOTS_PER_UPLOAD = 4;
const SMALL_BODY_BYTES = 16 * 1024;

export interface Composition {
  deps: AppDeps;
  /** Releases worker threads and timers; call after the server stopped accepting. */
  close(): Promise<void>;
}

export type ComposeOptions = StorageOptions;

/** Builds every dependency of the app from the configuration: the one place that knows the concrete parts. */
export async function compose(config: Config, logger: Logger, options: ComposeOptions = {}): Promise<Composition> {
  const keyDir = devKeyDir(config);
  const { store, idempotency, uploads } = await composeStorage(config, options);
  const ingestKeys = await loadIngestKeys({
    ...(config.ingestKeys.json ? { jwksJson: config.ingestKeys.json } : {}),
    ...(config.ingestKeys.dir ? { dir: config.ingestKeys.dir } : {}),
    ...(keyDir ? { dataDir: keyDir } : {}),
  });
  const pool = createProcessingPool({ threads: config.processing.threads, maxQueue: config.processing.queue, markingLayout: config.processing.markingLayout });
  const rate = { minBytesPerSecond: config.timeouts.minBodyBytesPerSecond, windowMs: config.timeouts.bodyRateWindowMs };
  const admission = new Admission({
    slots: config.limits.maxConcurrentUploads,
    perCaller: config.limits.maxConcurrentUploadsPerUser,
    bytes: config.limits.maxBufferedBytes,
    ...rate,
  });
  // Small JSON bodies (reviews, acknowledgements, deletions, dev tokens) are bounded too, but never wait behind uploads.
  const smallBodyAdmission = new Admission({
    slots: SMALL_BODY_SLOTS_PER_UPLOAD * config.limits.maxConcurrentUploads,
    perCaller: SMALL_BODY_SLOTS_PER_UPLOAD * config.limits.maxConcurrentUploadsPerUser,
    bytes: SMALL_BODY_SLOTS_PER_UPLOAD * config.limits.maxConcurrentUploads * SMALL_BODY_BYTES,
    ...rate,
  });
  const metrics = createMetrics(admission);
  const audit = new AuditTrail({ store, settleMs: config.feedSettleMs });
  const manifests = await createManifestSigner(await loadManifestKey({ ...config.manifestKey, ...(keyDir ? { devDataDir: keyDir } : {}) }));
  const documents = new DocumentService({
    store,
    processor: timedProcessor(pool, metrics.processingDuration),
    idempotency,
    limits: { maxPages: config.limits.maxPages, timeBudgetMs: config.limits.timeBudgetMs },
    feedSettleMs: config.feedSettleMs,
    audit,
    manifests,
    retentionMs: config.retentionMs,
  });
  const viewer = await composeViews(config, { documents, renderer: pool, recorder: auditViewRecorder(audit) });
  const devIssuer = config.devMode ? await createDevIssuer(config.dataDir) : undefined;
  const authenticator = devIssuer ?? createOidcAuthenticator(config.oidc!, { warn: (details, message) => logger.warn(details, message) });
  const maxJweBytes = encryptedSizeBound(config.limits.maxFileBytes);
  // Keys are loaded once at start; the published set never changes while the process runs.
  const jwks = composeJwks(ingestKeys.publicJwks(), manifests.publicJwks());
  const sweep = setInterval(() => {
    sweepOrphans({ store, idempotency, uploads, graceMs: config.sweep.orphanGraceMs }).then(
      (report) => logger.info({ sweep: report }, 'sweep done'),
      (err: unknown) => logger.warn({ err }, 'sweep failed'),
    );
  }, config.sweep.intervalMs).unref();
  return {
    deps: {
      config,
      logger,
      metrics,
      store,
      documents,
      authenticator,
      ...(devIssuer ? { devIssuer } : {}),
      ...viewer,
      audit: new AuditService(audit),
      jwks: () => jwks,
      decryptor: { decrypt: (compact) => decryptPart(compact, ingestKeys, { maxBytes: maxJweBytes }) },
      uploads,
      xdomea: new XdomeaExport({ documents, audit, parties: config.xdomea }),
      admission,
      smallBodyAdmission,
    },
    async close() {
      clearInterval(sweep);
      await pool.close();
    },
  };
}

/** Every processing call's duration (failures too) in the histogram, so /metrics shows what share of a capture processing takes. */
function timedProcessor(pool: Processor, histogram: Histogram): Processor {
  return {
    async process(files, options) {
      const end = histogram.startTimer();
      try {
        return await pool.process(files, options);
      } finally {
        end();
      }
    },
  };
}

export interface StorageOptions {
  /** Wraps the backend under the encryption, e.g. to inject storage faults or hold writes in tests. */
  wrapStore?: (backend: ObjectStore) => ObjectStore;
}

/** The encrypted store and what lives in it besides documents; also what `npm run sweep` needs. */
export async function composeStorage(
  config: Config,
  options: StorageOptions = {},
): Promise<{ store: EncryptedStore; idempotency: IdempotencyKeys; uploads: ObjectUploadStore }> {
  const keyDir = devKeyDir(config);
  const backend = await rawStore(config);
  const store = new EncryptedStore(
    options.wrapStore ? options.wrapStore(backend) : backend,
    await loadKekRing({ ...config.storageKeys, ...(keyDir ? { devDataDir: keyDir } : {}) }),
  );
  return {
    store,
    idempotency: new IdempotencyKeys(store, config.idempotencyTtlMs, config.limits.timeBudgetMs + 60_000),
    uploads: new ObjectUploadStore({ store, ttlMs: config.uploads.ttlMs, chunkBytes: config.uploads.chunkBytes }),
  };
}

/** Outside production, missing keys are generated once into the data directory. */
function devKeyDir(config: Config): string | undefined {
  return config.env === 'production' ? undefined : config.dataDir;
}

async function rawStore(config: Config): Promise<ObjectStore> {
  if (config.storage.backend === 'fs') {
    const store = new FsStore(path.join(config.dataDir, 'objects'));
    await store.ensureRoot();
    return store;
  }
  const store = new S3Store(config.storage.s3);
  await store.ensureBucket();
  return store;
}
