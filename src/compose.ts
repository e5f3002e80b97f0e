import path from 'node:path';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Histogram } from 'prom-client';
import { ulid } from 'ulid';
import type { AppDeps } from './app.ts';
import type { Config } from './config.ts';
import { createDevIssuer } from './auth/dev-issuer.ts';
import { createOidcAuthenticator } from './auth/oidc.ts';
import { AuditService } from './audit/service.ts';
import { createCheckpointSigner, type CheckpointSigner } from './audit/checkpoint.ts';
import type { AuditStore } from './metadata/audit-store.ts';
import { composeJwks, INGEST_KEYS } from './keys/ingest-keys.ts';
import { loadKey } from './keys/key-source.ts';
import { createManifestSigner, MANIFEST_KEY } from './documents/manifest.ts';
import { createCryptoPool } from './crypto/offload.ts';
import { SEARCH_KEY_RING, STORAGE_KEY_RING, type KekRing } from './keys/kek-ring.ts';
import { composeViews } from './compose-views.ts';
import { DocumentService, OCR_JOB, PURGE_JOB, type Processor } from './documents/service.ts';
import type { DocumentRecord } from './documents/records.ts';
import { isAppError } from './kernel/errors.ts';
import { Jobs } from './jobs/worker.ts';
import { auditViewRecorder } from './views/recorder.ts';
import { IdempotencyKeys } from './documents/idempotency.ts';
import { sweepIfOurTurn } from './maintenance/scheduled-sweep.ts';
import type { MetadataStore } from './metadata/metadata-store.ts';
import { openMetadataStore, pgliteDirOf } from './metadata/open.ts';
import { createMetrics } from './kernel/metrics.ts';
import { encryptedSizeBound } from './crypto/jwe-size.ts';
import { Admission } from './api/middleware/admission.ts';
import { renderRefusals } from './api/views.ts';
import { LingeringClose } from './api/middleware/lingering-close.ts';
import { createProcessingPool, type ProcessingPool } from './processing/pool.ts';
import type { PageRenderer } from './views/service.ts';
import { EncryptedStore, type Sealer } from './storage/encrypted-store.ts';
import { FsStore } from './storage/fs-store.ts';
import type { ObjectStore } from './storage/object-store.ts';
import { S3Store } from './storage/s3-store.ts';
import { ObjectUploadStore } from './uploads/upload-store.ts';
import { XdomeaExport } from './xdomea/export.ts';

/** How often each instance looks for due jobs (an enqueue on the same instance does not wait for it). */
const JOB_POLL_MS = 1_000;
/** Retries double up to 10 min; two jobs at a time per instance. */
const JOB_OPTIONS = { maxBackoffMs: 600_000, maxAttempts: 10, concurrency: 2 };

/** Small JSON bodies: four slots for every upload slot, each body at most 16 KiB (express.json's limit on those routes). */
const SMALL_BODY_SLOTS_PER_UPLOAD = 4;
const SMALL_BODY_BYTES = 16 * 1024;
/** Page and thumbnail renders one reader may have in flight: the viewer's visible pages come a pair at a time. */
const RENDERS_PER_READER = 2;

export interface Composition {
  deps: AppDeps;
  /** Releases worker threads and timers; call after the server stopped accepting. */
  close(): Promise<void>;
}

export interface ComposeOptions extends StorageOptions {
  /** Wraps the pool's page renderer, e.g. to hold renders in tests. */
  wrapRenderer?: (renderer: PageRenderer) => PageRenderer;
}

/** Builds every dependency of the app from the configuration: the one place that knows the concrete parts. */
export async function compose(config: Config, logger: Logger, options: ComposeOptions = {}): Promise<Composition> {
  // Decryption, hashing and sealing of large bytes run here, off the event loop.
  const crypto = createCryptoPool();
  const manifestKey = await loadKey(config.manifestKey, MANIFEST_KEY);
  const manifests = await createManifestSigner(manifestKey);
  const checkpoints = await createCheckpointSigner(manifestKey, manifests.kid);
  const { store, metadata, audit, idempotency, uploads } = await composeStorage(config, { sealer: crypto.seal, ...options, checkpoints });
  /** This process among the cluster's instances: holder of its job claims and leases. */
  const instance = ulid();
  const ingestKeys = await loadKey(config.ingestKeys, INGEST_KEYS);
  const lingering = new LingeringClose();
  const threads = config.processing.threads ?? availableParallelism();
  const pool = createProcessingPool({ threads, maxQueue: config.processing.queue, markingLayout: config.processing.markingLayout });
  // Renders may take half of what the pool runs and queues; the other half stays for captures and jobs.
  const renderAdmission = new Admission({
    slots: Math.max(1, Math.floor((threads + config.processing.queue) / 2)),
    perCaller: RENDERS_PER_READER,
    bytes: 0,
    refusals: renderRefusals,
  }, lingering);
  const rate = { minBytesPerSecond: config.timeouts.minBodyBytesPerSecond, windowMs: config.timeouts.bodyRateWindowMs };
  const admission = new Admission({
    slots: config.limits.maxConcurrentUploads,
    perCaller: config.limits.maxConcurrentUploadsPerUser,
    bytes: config.limits.maxBufferedBytes,
    ...rate,
  }, lingering);
  // Small JSON bodies (reviews, acknowledgements, deletions, dev tokens) are bounded too, but never wait behind uploads.
  const smallBodyAdmission = new Admission({
    slots: SMALL_BODY_SLOTS_PER_UPLOAD * config.limits.maxConcurrentUploads,
    perCaller: SMALL_BODY_SLOTS_PER_UPLOAD * config.limits.maxConcurrentUploadsPerUser,
    bytes: SMALL_BODY_SLOTS_PER_UPLOAD * config.limits.maxConcurrentUploads * SMALL_BODY_BYTES,
    ...rate,
  }, lingering);
  const metrics = createMetrics(admission, metadata.jobs, lingering);
  // The use cases run jobs they queued; the worker runs the handlers the use cases offer.
  const documents: DocumentService = new DocumentService({
    store,
    metadata,
    jobs: { runNow: (id) => jobs.runNow(id), wake: () => void jobs.tick() },
    ocr: config.ocr,
    processor: timedProcessor(pool, metrics.processingDuration),
    idempotency,
    limits: { maxPages: config.limits.maxPages, timeBudgetMs: config.limits.timeBudgetMs },
    audit,
    manifests,
    retentionMs: config.retentionMs,
  });
  const jobs = new Jobs(
    metadata.jobs,
    { [PURGE_JOB]: (job) => documents.purge(job.documentId!), [OCR_JOB]: (job) => documents.addTextLayer(job) },
    // A full processing pool turns a run away without using one of its attempts.
    { holder: instance, ...config.jobs, ...JOB_OPTIONS, postpone: (err) => isAppError(err) && err.code === 'busy' },
    { [OCR_JOB]: (job, cause) => documents.giveUpTextLayer(job, cause) },
  );
  jobs.start(JOB_POLL_MS);
  const viewer = await composeViews(config, { documents, renderer: options.wrapRenderer?.(pool) ?? pool, recorder: auditViewRecorder(audit) });
  const devIssuer = config.devMode ? await createDevIssuer(config.dataDir) : undefined;
  const authenticator = devIssuer ?? createOidcAuthenticator(config.oidc!, { warn: (details, message) => logger.warn(details, message) });
  const maxJweBytes = encryptedSizeBound(config.limits.maxFileBytes);
  // Keys are loaded once at start; the published set never changes while the process runs.
  const jwks = composeJwks(ingestKeys.publicJwks(), manifests.publicJwks());
  const sweep = setInterval(() => {
    const leases = { leases: metadata, holder: instance, intervalMs: config.sweep.intervalMs };
    sweepIfOurTurn({ store, metadata, idempotency, uploads, graceMs: config.sweep.orphanGraceMs, ...leases }).then(
      (report) => (report ? logger.info({ sweep: report }, 'sweep done') : logger.debug('sweep left to another instance')),
      (err: unknown) => logger.warn({ err }, 'sweep failed'),
    );
  }, config.sweep.intervalMs).unref();
  // A quiet trail's newest entries get their checkpoint too (any instance; a second one for the same entry is not made).
  const checkpoint = setInterval(() => {
    audit.checkpoint().catch((err: unknown) => logger.warn({ err }, 'audit checkpoint failed'));
  }, config.auditCheckpoints.intervalMs).unref();
  return {
    deps: {
      config,
      logger,
      metrics,
      store,
      metadata,
      documents,
      authenticator,
      ...(devIssuer ? { devIssuer } : {}),
      ...viewer,
      audit: new AuditService(audit),
      jwks: () => jwks,
      decryptor: { decrypt: (compact) => crypto.decrypt(compact, ingestKeys, { maxBytes: maxJweBytes }) },
      uploads,
      xdomea: new XdomeaExport<DocumentRecord>({ documents, audit, parties: config.xdomea }),
      admission,
      smallBodyAdmission,
      renderAdmission,
      lingering,
    },
    async close() {
      clearInterval(sweep);
      clearInterval(checkpoint);
      // Running jobs get the shutdown grace to finish; an OCR run still going then ends with the pool, and its lease lets another instance redo it.
      await Promise.race([jobs.stop(), sleep(config.shutdownGraceMs, undefined, { ref: false })]);
      await pool.close();
      await crypto.close();
      await metadata.close();
    },
  };
}

/** Every processing call's duration (failures too) in the histogram, so /metrics shows what share of a capture processing takes. */
function timedProcessor(pool: ProcessingPool, histogram: Histogram): Processor {
  return {
    async process(files, options) {
      const end = histogram.startTimer();
      try {
        return await pool.process(files, options);
      } finally {
        end();
      }
    },
    addTextLayer: (pdf, budgetMs) => pool.addTextLayer(pdf, budgetMs),
  };
}

export interface StorageOptions {
  /** Wraps the blob backend under the encryption, e.g. to inject storage faults or hold writes in tests. */
  wrapStore?: (backend: ObjectStore) => ObjectStore;
  /** Seals the objects (default: inline, on the calling thread). */
  sealer?: Sealer;
  /** Signs the audit chain's checkpoints; without it (the CLIs) none are made. */
  checkpoints?: CheckpointSigner;
}

export interface Storage {
  store: EncryptedStore;
  metadata: MetadataStore;
  /** The audit trail, in the metadata database. */
  audit: AuditStore;
  idempotency: IdempotencyKeys;
  uploads: ObjectUploadStore;
}

/** The encrypted blob store, the metadata database and what lives in them besides documents; also what `npm run sweep` needs. */
export async function composeStorage(config: Config, options: StorageOptions = {}): Promise<Storage> {
  const { store, keys } = await composeBlobStore(config, options);
  const metadata = await composeMetadata(config, keys, options.checkpoints);
  return {
    store,
    metadata,
    audit: metadata.audit,
    idempotency: new IdempotencyKeys(metadata, config.idempotencyTtlMs, config.limits.timeBudgetMs + 60_000),
    uploads: new ObjectUploadStore({ store, ttlMs: config.uploads.ttlMs, chunkBytes: config.uploads.chunkBytes }),
  };
}

/** The metadata database with its keys; `checkpoints` signs the audit chain's (absent in the CLIs). */
export async function composeMetadata(config: Config, keys?: KekRing, checkpoints?: CheckpointSigner): Promise<MetadataStore> {
  return openMetadataStore(
    config.databaseUrl ? { databaseUrl: config.databaseUrl } : { pgliteDir: pgliteDirOf(config.dataDir) },
    keys ?? (await loadKey(config.storageKeys, STORAGE_KEY_RING)),
    await loadKey(config.searchKeys, SEARCH_KEY_RING),
    { every: config.auditCheckpoints.entries, ...(checkpoints ? { sign: checkpoints } : {}) },
  );
}

/** Only the encrypted blob store (and its keys). */
async function composeBlobStore(config: Config, options: StorageOptions = {}): Promise<{ store: EncryptedStore; keys: KekRing }> {
  const keys = await loadKey(config.storageKeys, STORAGE_KEY_RING);
  const backend = await rawStore(config);
  return { store: new EncryptedStore(options.wrapStore ? options.wrapStore(backend) : backend, keys, options.sealer), keys };
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
