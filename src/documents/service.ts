/**
 * The document use cases behind one front (the only module that calls both processing and storage):
 * each method runs its use case's function (capture.ts, read.ts, feed.ts, handover.ts, deletion.ts,
 * text-layer.ts) on the shared context (context.ts).
 */
import type { Principal } from '../auth/principal.ts';
import type { ClaimedJob } from '../metadata/job-store.ts';
import type { DocumentRecord } from './records.ts';
import { documentContext, type DocumentContext, type DocumentServiceDeps } from './context.ts';
import { capture, type CaptureRequest } from './capture.ts';
import { content, forViewing, get } from './read.ts';
import { feed, type FeedPage, type FeedQuery } from './feed.ts';
import { acknowledge, manifest, review } from './handover.ts';
import { deleteDocument, purge } from './deletion.ts';
import { addTextLayer, giveUpTextLayer } from './text-layer.ts';

export type { DocumentServiceDeps, Processor } from './context.ts';
export { PURGE_JOB } from './deletion.ts';
export { OCR_JOB } from './text-layer.ts';

export class DocumentService {
  private readonly ctx: DocumentContext;

  constructor(deps: DocumentServiceDeps) {
    this.ctx = documentContext(deps);
  }

  capture(principal: Principal, request: CaptureRequest): Promise<{ record: DocumentRecord; replayed: boolean }> {
    return capture(this.ctx, principal, request);
  }

  get(principal: Principal, id: string): Promise<DocumentRecord> {
    return get(this.ctx, principal, id);
  }

  content(principal: Principal, id: string, which: { variant: 'rendition' } | { variant: 'original'; part: number }, seen?: DocumentRecord): ReturnType<typeof content> {
    return content(this.ctx, principal, id, which, seen);
  }

  forViewing(id: string): Promise<{ record: DocumentRecord; rendition(): Promise<Buffer> }> {
    return forViewing(this.ctx, id);
  }

  feed(principal: Principal, query: FeedQuery): Promise<FeedPage> {
    return feed(this.ctx, principal, query);
  }

  manifest(principal: Principal, id: string, seen?: DocumentRecord): Promise<string> {
    return manifest(this.ctx, principal, id, seen);
  }

  review(principal: Principal, id: string, decision: { decision: 'approved' | 'rejected'; note?: string }): Promise<DocumentRecord> {
    return review(this.ctx, principal, id, decision);
  }

  acknowledge(principal: Principal, id: string, reference: string | undefined): ReturnType<typeof acknowledge> {
    return acknowledge(this.ctx, principal, id, reference);
  }

  delete(principal: Principal, id: string, reason: string): Promise<void> {
    return deleteDocument(this.ctx, principal, id, reason);
  }

  purge(id: string): Promise<void> {
    return purge(this.ctx, id);
  }

  addTextLayer(job: Pick<ClaimedJob, 'documentId'>): Promise<void> {
    return addTextLayer(this.ctx, job);
  }

  giveUpTextLayer(job: Pick<ClaimedJob, 'documentId' | 'lastError'>, cause?: unknown): Promise<void> {
    return giveUpTextLayer(this.ctx, job, cause);
  }
}
