/** One document: its record and transfer note, "Ansehen", the quality review (role review) and its audit trail (role audit). */
import type { DocumentAuditTrail, DocumentRecord, ViewTicket } from '../../../contract/index.ts';
import { ApiError, getJson, postJson } from '../api.ts';
import { h, show } from '../dom.ts';
import { t, when } from '../i18n.ts';
import type { User } from '../session.ts';
import { offerReviewTo } from '../viewer-review.ts';

export async function documentScreen(id: string, user: User): Promise<void> {
  const m = t();
  let doc: DocumentRecord;
  try {
    doc = await getJson<DocumentRecord>(`/v1/documents/${encodeURIComponent(id)}`);
  } catch (err) {
    return show(h('h1', { tabindex: '-1' }, m.failed), h('p', { role: 'alert' }, err instanceof ApiError ? err.message : m.failed), h('a', { href: '#/documents' }, m.back));
  }
  const note = doc.transferNote;
  const review = note.review;
  const fact = (label: string, value: string | Array<string | Node>, cls?: string) => [h('dt', {}, label), h('dd', { ...(cls ? { class: cls } : {}), dir: 'auto' }, ...[value].flat())];
  const facts = h(
    'dl',
    { class: 'facts' },
    ...fact(m.docCase, doc.caseNumber ?? '–', 'case'),
    ...fact(m.docClassification, doc.classification),
    ...fact(m.docOffice, doc.issuingOffice),
    ...fact(m.docUnit, doc.unit),
    ...fact(m.docCapturedBy, note.capturedBy.name),
    ...fact(m.docCapturedAt, when(note.capturedAt)),
    ...fact(m.docSource, note.source),
    ...fact(m.docPages, String(doc.pageCount)),
    ...fact(m.docTransport, m.transport(note.transport.encryptedParts, note.transport.plainParts, note.transport.metadataEncrypted)),
    ...fact(m.docReview, review.by && review.at ? m.reviewBy(m.status[review.status] ?? review.status, h('bdi', {}, review.by.name), when(review.at)) : (m.status[review.status] ?? review.status), 'review-status'),
    ...(review.note ? fact(m.reason, review.note, 'review-note') : []),
  );
  const findings = note.findings.length
    ? h('ul', { class: 'findings' }, ...note.findings.map((f) => h('li', {}, f.message, f.page ? ` (${m.docPages} ${f.page})` : '')))
    : h('p', {}, m.noFindings);
  const viewButton = h('button', { type: 'button', id: 'open-viewer' }, m.view);
  const viewStatus = h('p', { role: 'status' });
  viewButton.addEventListener('click', () => void openViewer(doc.id, viewStatus));
  show(
    h('p', {}, h('a', { href: '#/documents' }, m.back)),
    h('h1', { tabindex: '-1', id: 'doc-title', dir: 'auto' }, doc.title),
    h('p', {}, viewButton),
    viewStatus,
    h('h2', {}, m.transferNote),
    facts,
    h('h2', {}, m.findings),
    findings,
    ...(user.roles.includes('review') ? [reviewForm(doc, user)] : []),
    ...(user.roles.includes('audit') ? [await auditTrail(doc.id)] : []),
  );
}

/** A ticket for this reader, then the viewer in a tab of its own (it never sees the bearer token). */
async function openViewer(id: string, status: HTMLElement): Promise<void> {
  offerReviewTo(id);
  // Opened in the click's own turn; the address follows once the ticket is there.
  const tab = window.open('about:blank', '_blank');
  try {
    const { viewerUrl } = await postJson<ViewTicket>(`/v1/documents/${encodeURIComponent(id)}/views`);
    const url = new URL(viewerUrl, location.origin);
    const target = `${location.origin}${url.pathname}${url.hash}`;
    if (tab) {
      tab.opener = null;
      tab.location.href = target;
    } else location.assign(target);
  } catch (err) {
    tab?.close();
    status.textContent = err instanceof ApiError ? err.message : t().viewFailed;
  }
}

function reviewForm(doc: DocumentRecord, user: User): HTMLElement {
  const m = t();
  const reason = h('textarea', { id: 'review-note', rows: '3', maxlength: '2000' });
  const status = h('p', { role: 'status', id: 'review-result' });
  const decide = (decision: 'approved' | 'rejected') => {
    const note = reason.value.trim();
    if (decision === 'rejected' && !note) {
      status.textContent = m.reasonNeeded;
      return reason.focus();
    }
    postJson<DocumentRecord>(`/v1/documents/${encodeURIComponent(doc.id)}/review`, { decision, ...(note ? { note } : {}) }).then(
      () => documentScreen(doc.id, user).then(() => {
        const shown = document.getElementById('review-result');
        if (shown) shown.textContent = m.reviewed(m.status[decision] ?? decision);
      }),
      (err: unknown) => (status.textContent = err instanceof ApiError ? err.message : m.failed),
    );
  };
  const approve = h('button', { type: 'button', id: 'approve' }, m.approve);
  const reject = h('button', { type: 'button', id: 'reject' }, m.reject);
  approve.addEventListener('click', () => decide('approved'));
  reject.addEventListener('click', () => decide('rejected'));
  return h('section', { 'aria-labelledby': 'review-heading', class: 'review' }, h('h2', { id: 'review-heading' }, m.reviewTitle), h('p', {}, h('label', { for: 'review-note' }, m.reason), reason), h('p', { class: 'actions' }, approve, reject), status);
}

async function auditTrail(id: string): Promise<HTMLElement> {
  const m = t();
  const section = h('section', { 'aria-labelledby': 'audit-heading', id: 'audit' }, h('h2', { id: 'audit-heading' }, m.auditTitle));
  try {
    const { entries } = await getJson<DocumentAuditTrail>(`/v1/documents/${encodeURIComponent(id)}/audit`);
    section.append(
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, m.auditAt), h('th', { scope: 'col' }, m.auditType), h('th', { scope: 'col' }, m.auditActor))),
        h('tbody', {}, ...entries.map((e) => h('tr', { 'data-type': e.type }, h('td', {}, when(e.at)), h('td', {}, e.type), h('td', { dir: 'auto' }, e.actor.name ?? e.actor.sub)))),
      ),
    );
  } catch (err) {
    section.append(h('p', { role: 'alert' }, err instanceof ApiError ? err.message : m.failed));
  }
  return section;
}
