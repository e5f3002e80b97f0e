/** The archive feed and search (GET /v1/documents): a page of the caller's units' documents and the cursor to the next. */
import { AppError } from '../kernel/errors.ts';
import { cursorPosition, settledPage } from '../kernel/cursor.ts';
import { canSeeUnit, requireAnyRole, type Principal } from '../auth/principal.ts';
import type { DocumentRecord, TransferNote } from './records.ts';
import { recordOf, subjectHash, type DocumentContext } from './context.ts';

export interface FeedQuery {
  /** A `next` of an earlier page: the id of the last document it showed (one of the caller's units). */
  after?: string;
  limit: number;
  /** Feed order (default) or newest first; `next` then pages backwards. */
  order?: 'oldest' | 'newest';
  unit?: string;
  caseNumber?: string;
  /** Words that must all occur in the title or on the pages (their text layer). */
  q?: string;
  /** Only final documents (text layer ready or failed), handed over in order: none past one still pending. */
  final?: boolean;
  /** ISO 8601 bounds on the receipt time: from inclusive, to exclusive. */
  capturedFrom?: string;
  capturedTo?: string;
  status?: TransferNote['review']['status'];
  /** false: only documents the caller has not acknowledged yet. */
  acknowledged?: boolean;
}

export interface FeedPage {
  items: DocumentRecord[];
  /** Continue from here next time: the page's last document's id; unchanged when nothing new was visible. */
  next: string | null;
  hasMore: boolean;
}

/**
 * The archive feed and search: committed documents of the caller's units in commit order (or
 * newest first), filtered in the database. `next` is the id of the page's last document, so neither it nor `hasMore`
 * reveals anything of other units; positions become visible in order (docs/metadata-store.md), so
 * no poll skips a commit.
 */
export async function feed(ctx: DocumentContext, principal: Principal, query: FeedQuery): Promise<FeedPage> {
  requireAnyRole(principal, ['export', 'audit', 'admin']);
  if (query.unit && !canSeeUnit(principal, query.unit)) {
    throw new AppError('forbidden', {
      detail: { de: `Sie gehören nicht zur Dienststelle '${query.unit}'; wählen Sie eine Ihrer Dienststellen.`, en: `You are not a member of unit '${query.unit}'; choose one of your units.` },
    });
  }
  if (query.final && query.order === 'newest') {
    // A handover goes forward so that nothing committed later is missed; backwards it would never see them.
    throw new AppError('validation_failed', {
      detail: {
        de: `'final=true' gibt Dokumente in der Reihenfolge des Eingangs ab und lässt sich nicht mit 'order=newest' verbinden. Lassen Sie 'order' weg (oder 'order=oldest').`,
        en: `'final=true' hands documents over in commit order and cannot be combined with 'order=newest'. Leave 'order' out (or use 'order=oldest').`,
      },
    });
  }
  const after = query.after ? await feedPosition(ctx, principal, query.after) : 0;
  // One more than asked, so `hasMore` is exact.
  const rows = await ctx.metadata.query({
    after,
    limit: query.limit + 1,
    ...(query.order ? { order: query.order } : {}),
    units: principal.units,
    ...(query.unit ? { unit: query.unit } : {}),
    ...(query.status ? { status: query.status } : {}),
    ...(query.caseNumber ? { caseNumber: query.caseNumber } : {}),
    ...(query.q ? { words: query.q } : {}),
    ...(query.final ? { final: true } : {}),
    ...(query.capturedFrom ? { capturedFrom: query.capturedFrom } : {}),
    ...(query.capturedTo ? { capturedTo: query.capturedTo } : {}),
    ...(query.acknowledged !== undefined ? { acknowledgement: { subjectHash: subjectHash(principal.sub), acknowledged: query.acknowledged } } : {}),
  });
  return settledPage(rows, query.limit, query.after, recordOf);
}

/** A cursor names one of the caller's documents (also a deleted one); any other id is refused alike. */
function feedPosition(ctx: DocumentContext, principal: Principal, cursor: string): Promise<number> {
  return cursorPosition(cursor, (id) => ctx.metadata.feedPosition(id, principal.units), { de: 'dieses Feeds', en: 'this feed' });
}
