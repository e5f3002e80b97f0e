/**
 * Review from inside the viewer. The viewer holds only its ticket, never the bearer token, so it asks
 * this workspace tab over a same-origin BroadcastChannel; the workspace answers only for documents it
 * opened in a viewer during this sign-in, only for role `review`, and calls the API with its own token.
 */
import type { DocumentRecord } from '../../contract/index.ts';
import { ApiError, postJson } from './api.ts';
import { currentUser } from './session.ts';
import { t } from './i18n.ts';

export const REVIEW_CHANNEL = 'vs-capture-review';

const opened = new Set<string>();
let channel: BroadcastChannel | undefined;

interface Ask {
  type: 'hello' | 'review';
  doc: string;
  id?: string;
  decision?: string;
  note?: string;
}

/** Called before a viewer opens `docId`; from then on that viewer may ask for the review. */
export function offerReviewTo(docId: string): void {
  if (!currentUser()?.roles.includes('review')) return;
  opened.add(docId);
  if (channel) return;
  channel = new BroadcastChannel(REVIEW_CHANNEL);
  channel.addEventListener('message', (e: MessageEvent<Ask>) => void answer(e.data));
}

/** At sign-out: no viewer can act through this tab any more. */
export function endViewerReviews(): void {
  opened.clear();
  channel?.close();
  channel = undefined;
}

async function answer(ask: Ask): Promise<void> {
  if (typeof ask?.doc !== 'string' || !opened.has(ask.doc) || !currentUser()?.roles.includes('review')) return;
  if (ask.type === 'hello') return channel?.postMessage({ type: 'can-review', doc: ask.doc });
  if (ask.type !== 'review' || typeof ask.id !== 'string' || (ask.decision !== 'approved' && ask.decision !== 'rejected')) return;
  const note = typeof ask.note === 'string' ? ask.note.trim() : '';
  try {
    const doc = await postJson<DocumentRecord>(`/v1/documents/${encodeURIComponent(ask.doc)}/review`, { decision: ask.decision, ...(note ? { note } : {}) });
    channel?.postMessage({ type: 'reviewed', id: ask.id, ok: true, status: doc.transferNote.review.status });
  } catch (err) {
    channel?.postMessage({ type: 'reviewed', id: ask.id, ok: false, message: err instanceof ApiError ? err.message : t().failed });
  }
}
