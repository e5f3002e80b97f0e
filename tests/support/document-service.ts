/** A DocumentService on a real store with a stub processor and a settable clock, for use-case tests without the worker pool. */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DocumentService, PURGE_JOB, type DocumentServiceDeps, type Processor } from '../../src/documents/service.ts';
import { Jobs } from '../../src/jobs/worker.ts';
import { IdempotencyKeys } from '../../src/documents/idempotency.ts';
import { parseCaptureMetadata } from '../../src/documents/capture-metadata.ts';
import type { Principal } from '../../src/auth/principal.ts';
import { FsStore } from '../../src/storage/fs-store.ts';
import type { AuditStore } from '../../src/metadata/audit-store.ts';
import type { MetadataStore } from '../../src/metadata/metadata-store.ts';
import { freshMetadataStore, type MetadataBackend } from '../../testkit/database.ts';
import { GatedSql } from './gated-sql.ts';
import { GatedStore } from './gated-store.ts';

/** Turns every part into one page; the rendition is the concatenated parts (no PDF work). */
export const stubProcessor: Processor = {
  async process(files) {
    const rendition = Buffer.concat(files.map((f) => f.bytes));
    return {
      rendition,
      renditionSha256: createHash('sha256').update(rendition).digest('hex'),
      pageCount: files.length,
      originals: files.map((f) => ({ mediaType: 'application/pdf', size: f.bytes.byteLength, sha256: createHash('sha256').update(f.bytes).digest('hex'), pages: 1 })),
      findings: [],
    };
  },
  // Nothing to add: every stub page counts as having its text.
  async addTextLayer(pdf) {
    return { pdf, pages: [], ownText: [], findings: [] };
  },
};

export interface ServiceHarness {
  service: DocumentService;
  store: GatedStore;
  metadata: MetadataStore;
  /** The metadata database's connection, to fail a statement or hold a transaction. */
  sql: GatedSql;
  /** A second instance on the same store and database (as another process has). */
  twin(): DocumentService;
  audit: AuditStore;
  /** The worker the service's jobs run on (not started: tests tick it). */
  jobs: Jobs;
  clock: { now: number };
  close(): Promise<void>;
}

/** The use cases on a gated filesystem store and a fresh metadata database on `backend`. */
export async function serviceHarness(overrides: Partial<DocumentServiceDeps> = {}, backend: MetadataBackend = 'PostgreSQL'): Promise<ServiceHarness> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vsc-svc-'));
  const store = new GatedStore(new FsStore(dir));
  let sql!: GatedSql;
  const { store: metadata } = await freshMetadataStore(backend, { wrap: (db) => (sql = new GatedSql(db)) });
  const clock = { now: Date.parse('2026-03-02T09:00:00Z') };
  const now = () => clock.now;
  const audit = metadata.audit;
  // Jobs the service queues run on this harness's own worker, on the harness's clock.
  const deps: DocumentServiceDeps = {
    store,
    metadata,
    jobs: { runNow: (id) => jobs.runNow(id), wake: () => undefined },
    // No OCR jobs unless a test asks for them (as the test apps).
    ocr: { enabled: false, budgetMs: 10_000, attempts: 3 },
    processor: stubProcessor,
    idempotency: new IdempotencyKeys(metadata, 3_600_000, 60_000, now),
    limits: { maxPages: 100, timeBudgetMs: 10_000 },
    audit,
    manifests: { sign: async (record) => `unsigned.${record.id}` },
    retentionMs: 0,
    now,
    ...overrides,
  };
  const service = new DocumentService(deps);
  const jobs = new Jobs(metadata.jobs, { [PURGE_JOB]: (job) => service.purge(job.documentId!) }, {
    holder: 'harness',
    leaseMs: 60_000,
    backoffMs: 1_000,
    maxBackoffMs: 60_000,
    maxAttempts: 3,
    concurrency: 1,
    now,
  });
  return {
    service,
    store,
    metadata,
    twin: () => new DocumentService({ ...deps }),
    sql,
    audit,
    jobs,
    clock,
    async close() {
      await jobs.stop();
      await metadata.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function principal(roles: Principal['roles'] extends ReadonlySet<infer R> ? R[] : never, units = ['BA-Nord'], sub = 'u1'): Principal {
  return { sub, name: sub, roles: new Set(roles), units };
}

export function captureOf(title: string) {
  return { metadata: parseCaptureMetadata(JSON.stringify({ title })), metadataEncrypted: false, parts: [{ bytes: Buffer.from(`%PDF-${title}`) }] };
}
