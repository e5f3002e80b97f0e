/**
 * My documents and the review queue: the documents list API with its filters and cursor, page by page;
 * each row with its first page as a thumbnail the service renders and watermarks for the caller.
 */
import type { DocumentRecord, FeedPage } from '../../../contract/index.ts';
import { api, ApiError, getJson } from '../api.ts';
import { h, show } from '../dom.ts';
import { t, when } from '../i18n.ts';

const PAGE = 20;
/** CSS pixels; fetched at twice that for sharp phone screens (the API allows 80–320). */
const THUMB_CSS_WIDTH = 64;

export interface ListFilter {
  caseNumber?: string;
  /** Words of the title or, once the text layer is in, of the pages (the API's `q`). */
  words?: string;
  status?: string;
  /** Capture days, YYYY-MM-DD in the browser's time zone, both included. */
  from?: string;
  to?: string;
}

export function documentsScreen(filter: ListFilter, queue: boolean): void {
  const m = t();
  const results = h('div', { id: 'results', 'aria-live': 'polite' });
  const heading = h('h1', { tabindex: '-1' }, queue ? m.queueTitle : m.documentsTitle);
  const intro = h('p', {}, queue ? m.queueText : m.documentsOrder);
  if (queue) {
    show(heading, intro, results);
    // The queue serves the longest waiting first; my documents show the newest first.
    return void loadInto(results, { status: 'pending' }, 'oldest');
  }
  const caseInput = h('input', { id: 'search-case', name: 'caseNumber', value: filter.caseNumber ?? '', autocomplete: 'off', maxlength: '100' });
  const wordsInput = h('input', { id: 'search-words', name: 'q', type: 'search', value: filter.words ?? '', autocomplete: 'off', maxlength: '200' });
  const fromInput = h('input', { id: 'filter-from', name: 'from', type: 'date', value: filter.from ?? '' });
  const toInput = h('input', { id: 'filter-to', name: 'to', type: 'date', value: filter.to ?? '' });
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
    h('p', {}, h('label', { for: 'search-words' }, m.searchWords), wordsInput),
    h('p', {}, h('label', { for: 'filter-status' }, m.filterStatus), status),
    h('p', {}, h('label', { for: 'filter-from' }, m.filterFrom), fromInput),
    h('p', {}, h('label', { for: 'filter-to' }, m.filterTo), toInput),
    h('button', { type: 'submit' }, m.search),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    results.replaceChildren();
    void loadInto(results, { caseNumber: caseInput.value.trim(), words: wordsInput.value.trim(), status: status.value, from: fromInput.value, to: toInput.value }, 'newest');
  });
  show(heading, intro, form, results);
  void loadInto(results, filter, 'newest');
}

/** Midnight at the start of `day` (+ `plus` days) in the browser's time zone, as the API's ISO 8601 time. */
function startOfDay(day: string, plus: number): string {
  const [y, mo, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(y, mo - 1, d + plus).toISOString();
}

/** Each new search (not "Weitere laden") starts a generation; answers of an older one are dropped. */
let generation = 0;

async function loadInto(results: HTMLElement, filter: ListFilter, order: 'oldest' | 'newest', after?: string): Promise<void> {
  const m = t();
  const mine = after ? generation : ++generation;
  const params = new URLSearchParams({ limit: String(PAGE), order });
  if (filter.caseNumber) params.set('caseNumber', filter.caseNumber);
  if (filter.words) params.set('q', filter.words);
  if (filter.status) params.set('status', filter.status);
  if (filter.from) params.set('capturedFrom', startOfDay(filter.from, 0));
  if (filter.to) params.set('capturedTo', startOfDay(filter.to, 1));
  if (after) params.set('after', after);
  results.querySelector('.more')?.remove();
  let page: FeedPage;
  try {
    page = await getJson<FeedPage>(`/v1/documents?${params}`);
  } catch (err) {
    if (mine !== generation) return;
    results.append(h('p', { class: 'error', role: 'alert' }, err instanceof ApiError ? err.message : m.failed));
    return;
  }
  if (mine !== generation) return;
  let table = results.querySelector('tbody');
  if (!table && page.items.length) {
    table = h('tbody');
    results.append(
      h('table', { class: 'documents' }, h('thead', {}, h('tr', {}, ...[m.colPreview, m.colTitle, m.colCase, m.colDate, m.colPages, m.colStatus].map((c) => h('th', { scope: 'col' }, c)))), table),
    );
  }
  const rows = page.items.map(row);
  table?.append(...rows.map((r) => r.tr));
  if (!table) results.append(h('p', {}, m.none));
  if (page.hasMore && page.next) {
    const more = h('button', { type: 'button', class: 'more' }, m.more);
    more.addEventListener('click', () => void loadInto(results, filter, order, page.next!));
    results.append(more);
  }
  // One after another, so the list is usable at once and the service renders one thumbnail at a time.
  for (const r of rows) await r.loadThumbnail();
}

function row(doc: DocumentRecord): { tr: HTMLTableRowElement; loadThumbnail: () => Promise<void> } {
  const m = t();
  const img = h('img', { alt: '', width: String(THUMB_CSS_WIDTH), class: 'thumbnail', hidden: true });
  const tr = h(
    'tr',
    { 'data-id': doc.id },
    h('td', { class: 'thumb' }, img),
    h('td', {}, h('a', { href: `#/documents/${doc.id}`, class: 'doc-title', dir: 'auto' }, doc.title)),
    h('td', { class: 'case', dir: 'auto' }, doc.caseNumber ?? '–'),
    h('td', {}, when(doc.createdAt)),
    h('td', { class: 'num' }, doc.pageCount),
    h('td', { class: `status ${doc.transferNote.review.status}` }, m.status[doc.transferNote.review.status] ?? doc.transferNote.review.status),
  );
  return { tr, loadThumbnail: () => showThumbnail(img, doc.id) };
}

/** How often a thumbnail the service asked to wait for (429, 503 busy) is asked for again. */
const THUMB_RETRIES = 10;

/**
 * Fetched with the bearer token (an img src cannot carry it) and shown from memory; asked for again
 * after Retry-After while the service says "later" (e.g. a list left meanwhile still rendering); any
 * other failure leaves the cell empty.
 */
async function showThumbnail(img: HTMLImageElement, id: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    // The list was left meanwhile: nothing to fetch for it.
    if (!img.isConnected) return;
    try {
      const blob = await (await api(`/v1/documents/${encodeURIComponent(id)}/thumbnail?width=${THUMB_CSS_WIDTH * 2}`)).blob();
      const url = URL.createObjectURL(blob);
      img.addEventListener('load', () => URL.revokeObjectURL(url), { once: true });
      img.src = url;
      img.hidden = false;
      return;
    } catch (err) {
      const later = err instanceof ApiError && (err.problem.status === 429 || err.problem.code === 'busy');
      // The row stays usable without its picture.
      if (!later || attempt >= THUMB_RETRIES) return;
      await new Promise((resolve) => setTimeout(resolve, 1000 * (err.problem.retryAfter ?? 1)));
    }
  }
}
