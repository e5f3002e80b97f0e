/**
 * "Freigeben" / "Ablehnen" inside the viewer. The viewer holds only its ticket, so it asks the
 * workspace tab that opened it (workspace/src/viewer-review.ts) over a same-origin BroadcastChannel;
 * the bar shows only when that tab answers that its user may review this document.
 */
import { t } from './i18n.ts';

const CHANNEL = 'vs-capture-review';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** Starts listening for the workspace's offer; the returned function ends it (closing, failures). */
export function startReview(doc: string): () => void {
  const form = $<HTMLFormElement>('review');
  const note = $<HTMLInputElement>('review-note');
  const result = $<HTMLElement>('review-result');
  const buttons = [$<HTMLButtonElement>('review-approve'), $<HTMLButtonElement>('review-reject')];
  const channel = new BroadcastChannel(CHANNEL);
  let pending: string | undefined;
  const busy = (on: boolean) => buttons.forEach((b) => (b.disabled = on));
  channel.addEventListener('message', (e: MessageEvent<{ type?: string; doc?: string; id?: string; ok?: boolean; status?: string; message?: string }>) => {
    const msg = e.data;
    if (msg?.type === 'can-review' && msg.doc === doc) form.hidden = false;
    if (msg?.type !== 'reviewed' || msg.id === undefined || msg.id !== pending) return;
    pending = undefined;
    busy(false);
    result.textContent = msg.ok ? t().reviewed(msg.status === 'approved' ? t().approved : t().rejected) : String(msg.message ?? t().failedTitle);
  });
  const decide = (decision: 'approved' | 'rejected') => {
    const reason = note.value.trim();
    if (decision === 'rejected' && !reason) {
      result.textContent = t().reasonNeeded;
      return note.focus();
    }
    pending = crypto.randomUUID();
    busy(true);
    result.textContent = t().reviewSaving;
    channel.postMessage({ type: 'review', doc, id: pending, decision, note: reason });
  };
  buttons[0]!.addEventListener('click', () => decide('approved'));
  buttons[1]!.addEventListener('click', () => decide('rejected'));
  channel.postMessage({ type: 'hello', doc });
  return () => {
    channel.close();
    form.hidden = true;
  };
}
