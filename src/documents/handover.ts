/** Handover to an archive: the signed manifest, the quality review (final) and the archive's acknowledgement. */
import { AppError } from '../kernel/errors.ts';
import { requireAnyRole, requireRole, type Principal } from '../auth/principal.ts';
import type { Acknowledgement, DocumentRecord, TransferNote } from './records.ts';
import { appendAudit, eventOf, notFound, readRecord, recordOf, serialize, subjectHash, visibleRecord, type DocumentContext } from './context.ts';

/** The signed manifest (compact JWS) of the document's integrity evidence; role `export` or `audit`. `seen` as for `content`. */
export async function manifest(ctx: DocumentContext, principal: Principal, id: string, seen?: DocumentRecord): Promise<string> {
  requireAnyRole(principal, ['export', 'audit']);
  const record = seen ?? (await visibleRecord(ctx, principal, id));
  await appendAudit(ctx, principal, record, 'manifest_exported');
  return ctx.manifests.sign(record);
}

/**
 * Quality review (BSI TR-03138) by role `review`: the decision is final. The record is replaced only
 * while it is still pending (one conditional update), so of two racing reviewers exactly one wins.
 */
export async function review(ctx: DocumentContext, principal: Principal, id: string, review: { decision: 'approved' | 'rejected'; note?: string }): Promise<DocumentRecord> {
  requireRole(principal, 'review');
  const record = await visibleRecord(ctx, principal, id);
  const current = record.transferNote.review;
  if (current.status !== 'pending') throw alreadyReviewed(current);
  const decision: TransferNote['review'] = {
    status: review.decision,
    by: { sub: principal.sub, name: principal.name },
    at: new Date(ctx.now()).toISOString(),
    ...(review.note !== undefined ? { note: review.note } : {}),
  };
  let reviewed = record;
  const decided = await ctx.metadata.decideReview(id, review.decision, (body) => {
    const current = recordOf({ body });
    reviewed = { ...current, transferNote: { ...current.transferNote, review: decision } };
    return serialize(reviewed);
  }, eventOf(principal, record, 'reviewed', { decision: review.decision, ...(review.note !== undefined ? { note: review.note } : {}) }));
  if (!decided) throw alreadyReviewed((await readRecord(ctx, id)).transferNote.review);
  return reviewed;
}

/** Role `export`: the caller's archive took the document over. Repeating it returns the first acknowledgement. */
export async function acknowledge(ctx: DocumentContext, principal: Principal, id: string, reference: string | undefined): Promise<{ acknowledgement: Acknowledgement; created: boolean }> {
  requireRole(principal, 'export');
  const record = await visibleRecord(ctx, principal, id);
  const acknowledgement: Acknowledgement = {
    documentId: id,
    by: { sub: principal.sub, name: principal.name },
    at: new Date(ctx.now()).toISOString(),
    ...(reference !== undefined ? { reference } : {}),
  };
  const event = eventOf(principal, record, 'acknowledged', reference !== undefined ? { reference } : {});
  const stored = await ctx.metadata.acknowledge(id, subjectHash(principal.sub), acknowledgement.at, Buffer.from(JSON.stringify(acknowledgement)), event);
  // Gone: a deletion committed between the read and this write.
  if (!stored) throw notFound(id);
  if (!stored.created) return { acknowledgement: JSON.parse(stored.body.toString('utf8')) as Acknowledgement, created: false };
  return { acknowledgement, created: true };
}

function alreadyReviewed(review: TransferNote['review']): AppError {
  return new AppError('conflict', {
    detail: {
      de: `Das Dokument wurde bereits am ${review.at} geprüft (${review.status}); eine Prüfentscheidung ist endgültig.`,
      en: `The document was already ${review.status} at ${review.at}; a review decision is final.`,
    },
  });
}
