/** Reading a document: its record, its rendition or originals as stored (each export audited), and what a view ticket may load. */
import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { AppError } from '../kernel/errors.ts';
import { requireAnyRole, requireRole, type Principal, type Role } from '../auth/principal.ts';
import type { DocumentRecord } from './records.ts';
import { ObjectNotFoundError, type ByteRange } from '../storage/object-store.ts';
import { layout } from '../storage/layout.ts';
import { appendAudit, notFound, readRecord, visibleRecord, type DocumentContext } from './context.ts';

const READ_ROLES: Role[] = ['read', 'export', 'review', 'audit', 'admin'];

export async function get(ctx: DocumentContext, principal: Principal, id: string): Promise<DocumentRecord> {
  requireAnyRole(principal, READ_ROLES);
  return visibleRecord(ctx, principal, id);
}

/**
 * The rendition or an original as stored; role `export`. `open` streams it, optionally a byte range.
 * `seen`: the record as the caller read it through `get` (an export packing one state of the document).
 */
export async function content(
  ctx: DocumentContext,
  principal: Principal,
  id: string,
  which: { variant: 'rendition' } | { variant: 'original'; part: number },
  seen?: DocumentRecord,
): Promise<{ mediaType: string; size: number; sha256: string; open(range?: ByteRange): Promise<Readable> }> {
  requireRole(principal, 'export');
  const record = seen ?? (await visibleRecord(ctx, principal, id));
  const part = which.variant === 'original' ? which.part : 0;
  const described = which.variant === 'rendition' ? record.rendition : record.originals.find((o) => o.part === part);
  if (!described) {
    throw new AppError('not_found', {
      detail: {
        de: `Das Dokument hat ${record.originals.length} Originalteil(e); Teil ${part} gibt es nicht.`,
        en: `The document has ${record.originals.length} original part(s); part ${part} does not exist.`,
      },
    });
  }
  const key = which.variant === 'rendition' ? renditionKey(record) : layout.original(id, part);
  // Recorded when bytes are opened, so a HEAD or a refused range exports nothing.
  const open = async (range?: ByteRange) => {
    await appendAudit(ctx, principal, record, 'content_exported', { ...which, ...(range ? { range: `${range.start}-${range.end ?? ''}` } : {}) });
    return openBlob(ctx, id, key, range);
  };
  return { mediaType: described.mediaType, size: described.size, sha256: described.sha256, open };
}

/** A blob gone after its record was read was removed by a deletion meanwhile: the document is gone. */
export async function openBlob(ctx: DocumentContext, id: string, key: string, range?: ByteRange): Promise<Readable> {
  try {
    return await ctx.store.get(key, range);
  } catch (err) {
    throw err instanceof ObjectNotFoundError ? notFound(id) : err;
  }
}

/**
 * For a verified view ticket: the record and a loader of the rendition bytes. No principal here: the
 * ticket was issued after `get`'s role and unit checks and names this document only.
 */
export async function forViewing(ctx: DocumentContext, id: string): Promise<{ record: DocumentRecord; rendition(): Promise<Buffer> }> {
  const record = await readRecord(ctx, id);
  return { record, rendition: async () => buffer(await openBlob(ctx, id, renditionKey(record))) };
}

function renditionKey(record: DocumentRecord): string {
  return record.rendition.textLayer ? layout.textRendition(record.id) : layout.rendition(record.id);
}
