/** Deletion after retention (record, purge job and audit entry in one transaction) and the purge job that removes the blobs. */
import { AppError } from '../kernel/errors.ts';
import { canSeeUnit, requireRole, type Principal } from '../auth/principal.ts';
import { ID_PATTERN, layout } from '../storage/layout.ts';
import { walk } from '../storage/walk.ts';
import { eventOf, visibleRecord, type DocumentContext } from './context.ts';

/** The job that removes a deleted document's blobs; queued in the deletion's transaction. */
export const PURGE_JOB = 'document.purge';
const PURGE_ATTEMPTS = 10;

/**
 * Role `admin`, after the retention period: the row goes, a deletion row stays, the purge job is
 * queued and the audit entry appended (one transaction: the document disappears in one step, never
 * without its entry, and its blobs are sure to follow); the request runs the job at once,
 * a failed or interrupted run is retried by any instance. The trail stays.
 */
export async function deleteDocument(ctx: DocumentContext, principal: Principal, id: string, reason: string): Promise<void> {
  requireRole(principal, 'admin');
  if (await finishInterruptedDeletion(ctx, principal, id)) return;
  const record = await visibleRecord(ctx, principal, id);
  const retainedUntil = Date.parse(record.createdAt) + ctx.retentionMs;
  if (retainedUntil > ctx.now()) {
    throw new AppError('retention_active', {
      detail: {
        de: `Das Dokument unterliegt der Aufbewahrung bis ${new Date(retainedUntil).toISOString()}; vorher kann es nicht gelöscht werden.`,
        en: `The document is under retention until ${new Date(retainedUntil).toISOString()}; it cannot be deleted before then.`,
      },
    });
  }
  const purge = { kind: PURGE_JOB, documentId: id, payload: null, maxAttempts: PURGE_ATTEMPTS, runAt: ctx.now() };
  const deleted = await ctx.metadata.deleteDocument(id, new Date(ctx.now()).toISOString(), purge, eventOf(principal, record, 'deleted', { reason }));
  if (deleted?.jobId !== undefined) await ctx.jobs.runNow(deleted.jobId);
}

/** The purge job's handler: removes every blob of a deleted document; idempotent. */
export async function purge(ctx: DocumentContext, id: string): Promise<void> {
  await deleteBlobs(ctx, id);
}

/** A repeated DELETE after one interrupted past the record removes what is left (answering 204 again). */
async function finishInterruptedDeletion(ctx: DocumentContext, principal: Principal, id: string): Promise<boolean> {
  if (!ID_PATTERN.test(id) || (await ctx.metadata.isCommitted(id))) return false;
  const deletion = await ctx.metadata.deletion(id);
  if (!deletion || !canSeeUnit(principal, deletion.unit)) return false;
  await deleteBlobs(ctx, id);
  return true;
}

async function deleteBlobs(ctx: DocumentContext, id: string): Promise<void> {
  for await (const blob of walk(ctx.store, layout.documentPrefix(id))) await ctx.store.delete(blob.key);
}

