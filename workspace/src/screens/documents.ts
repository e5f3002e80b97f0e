/** My documents and the review queue: the documents list API with its filters and cursor, page by page. */
import { ApiError, getJson, type DocumentView, type FeedPage } from '../api.ts';
import { h, show } from '../dom.ts';
import { t, when } from '../i18n.ts';

const PAGE = 20;

export interface ListFilter {
  caseNumber?: string;
  status?: string;
}

export function documentsScreen(filter: ListFilter, queue: boolean): void {
  const m = t();
  const results = h('div', { id: 'results', 'aria-live': 'polite' });
  const heading = h('h1', { tabindex: '-1' }, queue ? m.queueTitle : m.documentsTitle);
  const intro = h('p', {}, queue ? m.queueText : m.documentsOrder);
  if (queue) {
    show(heading, intro, results);
    return void loadInto(results, { status: 'pending' });
  }
  const caseInput = h('input', { id: 'search-case', name: 'caseNumber', value: filter.caseNumber ?? '', autocomplete: 'off', maxlength: '100' });
  const status = h(
    'select',
    { id: 'filter-status', name: 'status' },
    h('option', { value: '' }, m.statusAny),
    ...(['pending', 'approved', 'rejected'] as const).map((s) => h('option', { value: s, selected: filter.status === s }, m.status[s] ?? s)),
  );
  const form = h(
    'form',
    { id: 'search', role: 'search', class: 'filters' },
    h('p', {}, h('label', { for: 'search-case' }, m.searchCase), caseInput),
    h('p', {}, h('label', { for: 'filter-status' }, m.filterStatus), status),
    h('button', { type: 'submit' }, m.search),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    results.replaceChildren();
    void loadInto(results, { caseNumber: caseInput.value.trim(), status: status.value });
  });
  show(heading, intro, form, results);
  void loadInto(results, filter);
}

async function loadInto(results: HTMLElement, filter: ListFilter, after?: string): Promise<void> {
  const m = t();
  const params = new URLSearchParams({ limit: String(PAGE) });
  if (filter.caseNumber) params.set('caseNumber', filter.caseNumber);
  if (filter.status) params.set('status', filter.status);
  if (after) params.set('after', after);
  results.querySelector('.more')?.remove();
  let page: FeedPage;
  try {
    page = await getJson<FeedPage>(`/v1/documents?${params}`);
  } catch (err) {
    results.append(h('p', { class: 'error', role: 'alert' }, err instanceof ApiError ? err.message : m.failed));
    return;
  }
  let table = results.querySelector('tbody');
  if (!table && page.items.length) {
    table = h('tbody');
    results.append(
      h('table', { class: 'documents' }, h('thead', {}, h('tr', {}, ...[m.colTitle, m.colCase, m.colDate, m.colPages, m.colStatus].map((c) => h('th', { scope: 'col' }, c)))), table),
    );
  }
  for (const doc of page.items) table!.append(row(doc));
  if (!table) results.append(h('p', {}, m.none));
  if (page.hasMore && page.next) {
    const more = h('button', { type: 'button', class: 'more' }, m.more);
    more.addEventListener('click', () => void loadInto(results, filter, page.next!));
    results.append(more);
  }
}

function row(doc: DocumentView): HTMLTableRowElement {
  const m = t();
  return h(
    'tr',
    { 'data-id': doc.id },
    h('td', {}, h('a', { href: `#/documents/${doc.id}`, class: 'doc-title' }, doc.title)),
    h('td', { class: 'case' }, doc.caseNumber ?? '–'),
    h('td', {}, when(doc.createdAt)),
    h('td', { class: 'num' }, doc.pageCount),
    h('td', { class: `status ${doc.transferNote.review.status}` }, m.status[doc.transferNote.review.status] ?? doc.transferNote.review.status),
  );
}
