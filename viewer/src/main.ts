/**
 * The trace-free viewer: pages arrive as watermarked images rendered by the server, go from fetch to a
 * blob URL that is revoked once decoded, and nothing is written to storage. Printing, saving and
 * dragging are discouraged; the watermark is what makes a photo of the screen attributable.
 */
import type { ViewInfo } from '../../contract/index.ts';
import { clearSiteData, fetchInfo, fetchPage, renewTicket, ViewError, type Failure } from './api.ts';
import { lang, setLang, t } from './i18n.ts';
import { startReview } from './review.ts';
import { PAGE_WIDTH } from '../../src/views/bounds.ts';

const WIDTH = { ...PAGE_WIDTH, step: 200 };
const ZOOM = { min: 0.5, max: 4, factor: 1.25 };
/** The ticket is renewed when half its lifetime has passed, if the reader did something within IDLE_MS. */
const RENEW_AT = 0.5;
const IDLE_MS = 10 * 60_000;

/** What the error panel can explain. */
type Shown = Failure | 'closed' | 'reloaded';

interface PageView {
  number: number;
  el: HTMLElement;
  /** Pixel width of the image shown or being fetched; 0 before the first load. */
  width: number;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  pages: $<HTMLElement>('pages'),
  status: $<HTMLElement>('status'),
  error: $<HTMLElement>('error'),
  errorTitle: $<HTMLElement>('error-title'),
  errorText: $<HTMLElement>('error-text'),
  prev: $<HTMLButtonElement>('prev'),
  next: $<HTMLButtonElement>('next'),
  input: $<HTMLInputElement>('page-input'),
  count: $<HTMLElement>('page-count'),
  zoomIn: $<HTMLButtonElement>('zoom-in'),
  zoomOut: $<HTMLButtonElement>('zoom-out'),
  zoomLevel: $<HTMLOutputElement>('zoom-level'),
  fitWidth: $<HTMLButtonElement>('fit-width'),
  fitPage: $<HTMLButtonElement>('fit-page'),
  docInfo: $<HTMLElement>('doc-info'),
  docTitle: $<HTMLElement>('doc-title'),
  docCase: $<HTMLElement>('doc-case'),
  docCaseLine: $<HTMLElement>('doc-case-line'),
  lang: $<HTMLButtonElement>('lang'),
  close: $<HTMLButtonElement>('close'),
  more: $<HTMLButtonElement>('more'),
  toolbar: document.querySelector<HTMLElement>('.toolbar')!,
};

const state = {
  ticket: '',
  doc: '',
  info: undefined as ViewInfo | undefined,
  pages: [] as PageView[],
  current: 1,
  /** 1 = page width fits the window. */
  zoom: 1,
  /** Page 1, requested together with the document info to save a round trip. */
  prefetch: undefined as { width: number; blob: Promise<Blob> } | undefined,
  /** The failure on screen, or 'closed'; re-rendered when the language changes. */
  shown: undefined as Shown | undefined,
  /** Height / width of the pages seen so far (for "ganze Seite"); A4 until one is loaded. */
  aspect: 1.414,
  renewTimer: undefined as ReturnType<typeof setTimeout> | undefined,
  /** Set while the reader is idle: the ticket runs out then, unless the reader comes back first. */
  idleExpiry: undefined as ReturnType<typeof setTimeout> | undefined,
  lastActivity: Date.now(),
};

const observer = new IntersectionObserver(
  (entries) => {
    for (const entry of entries) if (entry.isIntersecting) void load(pageOf(entry.target));
  },
  { root: ui.pages, rootMargin: '300px 0px' },
);

function pageOf(el: Element): PageView {
  return state.pages[Number((el as HTMLElement).dataset.page) - 1]!;
}

/** CSS width of a page at the current zoom. */
function cssWidth(): number {
  return Math.max(200, (ui.pages.clientWidth - 16) * state.zoom);
}

/** Image width to ask for: device pixels, in steps so zooming reuses renders, within the server's bounds. */
function wantedWidth(): number {
  const px = Math.ceil((cssWidth() * devicePixelRatio) / WIDTH.step) * WIDTH.step;
  return Math.min(WIDTH.max, Math.max(WIDTH.min, px));
}

async function load(page: PageView): Promise<void> {
  const width = wantedWidth();
  if (page.width >= width || state.shown) return;
  page.width = width;
  const prefetched = page.number === 1 && state.prefetch?.width === width ? state.prefetch.blob : undefined;
  state.prefetch = undefined;
  let blob: Blob;
  try {
    blob = await (prefetched ?? fetchPage(state.ticket, state.doc, page.number, width));
  } catch (err) {
    page.width = 0;
    return showFailure(err instanceof ViewError ? err.failure : 'failed');
  }
  const url = URL.createObjectURL(blob);
  const img = new Image();
  img.alt = t().page(page.number);
  img.draggable = false;
  img.src = url;
  try {
    await img.decode();
  } finally {
    // The decoded image stays on screen; the blob URL goes, so nothing can re-read or save it.
    URL.revokeObjectURL(url);
  }
  if (state.shown) return;
  state.aspect = img.naturalHeight / img.naturalWidth;
  page.el.style.aspectRatio = `${img.naturalWidth} / ${img.naturalHeight}`;
  page.el.replaceChildren(img);
  page.el.dataset.state = 'loaded';
}

function buildPages(info: ViewInfo): void {
  state.pages = Array.from({ length: info.pageCount }, (_, i) => {
    const el = document.createElement('div');
    el.className = 'page';
    el.dataset.page = String(i + 1);
    el.setAttribute('role', 'group');
    el.setAttribute('aria-label', t().page(i + 1));
    const loading = document.createElement('div');
    loading.className = 'loading';
    loading.textContent = t().pageLoading(i + 1);
    el.append(loading);
    return { number: i + 1, el, width: 0 };
  });
  ui.pages.replaceChildren(...state.pages.map((p) => p.el));
  applyZoom();
  for (const page of state.pages) observer.observe(page.el);
}

function applyZoom(): void {
  const width = `${cssWidth()}px`;
  for (const page of state.pages) page.el.style.width = width;
  ui.zoomLevel.textContent = `${Math.round(state.zoom * 100)}\u00a0%`;
  ui.zoomOut.disabled = state.zoom <= ZOOM.min;
  ui.zoomIn.disabled = state.zoom >= ZOOM.max;
  // Sharper images for pages already on screen; the observer handles the rest as they scroll in.
  for (const page of visiblePages()) void load(page);
}

function visiblePages(): PageView[] {
  const view = ui.pages.getBoundingClientRect();
  return state.pages.filter((p) => {
    const r = p.el.getBoundingClientRect();
    return r.bottom > view.top && r.top < view.bottom;
  });
}

/** The zoom at which a whole page fits the view's height. */
function fitPageZoom(): number {
  return (ui.pages.clientHeight - 16) / state.aspect / (ui.pages.clientWidth - 16);
}

function zoomTo(zoom: number): void {
  const keep = state.current;
  state.zoom = Math.min(ZOOM.max, Math.max(ZOOM.min, zoom));
  applyZoom();
  goTo(keep);
}

function goTo(n: number): void {
  const page = state.pages[Math.min(state.pages.length, Math.max(1, n)) - 1];
  if (!page) return;
  page.el.scrollIntoView({ block: 'start' });
  setCurrent(page.number);
}

function setCurrent(n: number): void {
  state.current = n;
  ui.input.value = String(n);
  ui.prev.disabled = n <= 1;
  ui.next.disabled = n >= state.pages.length;
}

/** The current page is the one covering the upper third of the view. */
function trackCurrent(): void {
  const mark = ui.pages.getBoundingClientRect().top + ui.pages.clientHeight / 3;
  const page = state.pages.find((p) => p.el.getBoundingClientRect().bottom > mark);
  if (page && page.number !== state.current) setCurrent(page.number);
}

function renderCount(): void {
  ui.count.textContent = state.info ? t().pageOf(state.info.pageCount) : '';
}

function showFailure(what: Shown): void {
  // After "Schließen" nothing in flight may bring anything back, not even another message.
  if (state.shown === 'closed' && what !== 'closed') return;
  state.shown = what;
  stopReview?.();
  clearTimeout(state.renewTimer);
  clearTimeout(state.idleExpiry);
  observer.disconnect();
  ui.pages.replaceChildren();
  ui.pages.hidden = true;
  ui.status.textContent = '';
  for (const el of document.querySelectorAll<HTMLButtonElement | HTMLInputElement>('.toolbar button, .toolbar input')) {
    // The language stays, and on phones the button that shows it.
    el.disabled = el !== ui.lang && el !== ui.more;
  }
  const m = t();
  ui.errorTitle.textContent = m[`${what}Title`];
  ui.errorText.textContent = m[`${what}Text`];
  ui.error.hidden = false;
  ui.error.dataset.failure = what;
  ui.error.focus();
}

function scheduleRenewal(expiresInSeconds: number): void {
  clearTimeout(state.renewTimer);
  state.renewTimer = setTimeout(() => void renewOrExpire(expiresInSeconds), expiresInSeconds * RENEW_AT * 1000);
}

/** While the reader reads, a fresh ticket; when idle, the ticket runs out and the viewer says why. */
async function renewOrExpire(expiresInSeconds: number): Promise<void> {
  if (state.shown) return;
  if (Date.now() - state.lastActivity > IDLE_MS) {
    state.idleExpiry = setTimeout(() => showFailure('expired'), expiresInSeconds * (1 - RENEW_AT) * 1000);
    return;
  }
  try {
    const renewed = await renewTicket(state.ticket, state.doc);
    state.ticket = renewed.ticket;
    document.body.dataset.renewals = String(Number(document.body.dataset.renewals ?? 0) + 1);
    scheduleRenewal(renewed.expiresInSeconds);
  } catch (err) {
    showFailure(err instanceof ViewError ? err.failure : 'failed');
  }
}

function noteActivity(): void {
  state.lastActivity = Date.now();
  if (state.idleExpiry === undefined) return;
  // Back before the ticket ran out: renew at once.
  clearTimeout(state.idleExpiry);
  state.idleExpiry = undefined;
  void renewOrExpire(0);
}

async function closeViewer(): Promise<void> {
  showFailure('closed');
  await clearSiteData();
}

function toggleLang(): void {
  setLang(lang() === 'de' ? 'en' : 'de');
  ui.lang.textContent = t().switchTo;
  ui.lang.lang = lang() === 'de' ? 'en' : 'de';
  renderCount();
  for (const page of state.pages) page.el.setAttribute('aria-label', t().page(page.number));
  if (state.shown) showFailure(state.shown);
  else if (!state.info) ui.status.textContent = t().loading;
}

function onKey(e: KeyboardEvent): void {
  // Saving and printing the page would only capture placeholders, but say no early.
  if ((e.ctrlKey || e.metaKey) && ['s', 'p'].includes(e.key.toLowerCase())) return e.preventDefault();
  if (state.shown || !state.info || e.target instanceof HTMLInputElement || e.ctrlKey || e.metaKey || e.altKey) return;
  const actions: Record<string, () => void> = {
    ArrowRight: () => goTo(state.current + 1),
    ArrowLeft: () => goTo(state.current - 1),
    Home: () => goTo(1),
    End: () => goTo(state.pages.length),
    '+': () => zoomTo(state.zoom * ZOOM.factor),
    '=': () => zoomTo(state.zoom * ZOOM.factor),
    '-': () => zoomTo(state.zoom / ZOOM.factor),
    '0': () => zoomTo(1),
  };
  const action = actions[e.key];
  if (!action) return;
  e.preventDefault();
  action();
}

function wireControls(): void {
  ui.prev.addEventListener('click', () => goTo(state.current - 1));
  ui.next.addEventListener('click', () => goTo(state.current + 1));
  ui.input.addEventListener('change', () => goTo(Number(ui.input.value) || 1));
  ui.zoomIn.addEventListener('click', () => zoomTo(state.zoom * ZOOM.factor));
  ui.zoomOut.addEventListener('click', () => zoomTo(state.zoom / ZOOM.factor));
  ui.fitWidth.addEventListener('click', () => zoomTo(1));
  ui.fitPage.addEventListener('click', () => zoomTo(fitPageZoom()));
  for (const type of ['keydown', 'pointerdown', 'wheel', 'touchstart']) document.addEventListener(type, noteActivity, { passive: true });
  ui.pages.addEventListener('scroll', noteActivity, { passive: true });
  ui.lang.addEventListener('click', toggleLang);
  ui.close.addEventListener('click', () => void closeViewer());
  ui.more.addEventListener('click', () => ui.more.setAttribute('aria-expanded', String(ui.toolbar.classList.toggle('open'))));
  ui.pages.addEventListener('scroll', () => requestAnimationFrame(trackCurrent), { passive: true });
  ui.pages.addEventListener('contextmenu', (e) => e.preventDefault());
  document.addEventListener('keydown', onKey);
  window.addEventListener('resize', () => state.info && !state.shown && applyZoom());
  window.addEventListener('beforeprint', () => ui.pages.replaceChildren());
  window.addEventListener('afterprint', () => state.info && buildPages(state.info));
  // Leaving the page clears what the browser may hold for this origin, as closing does.
  window.addEventListener('pagehide', () => navigator.sendBeacon('/view-api/close'));
}

/** Ends the review bar; set once the document is shown. */
let stopReview: (() => void) | undefined;

async function start(): Promise<void> {
  wireControls();
  const fragment = new URLSearchParams(location.hash.slice(1));
  // The ticket leaves the address bar at once: no bookmark or screenshot of the URL carries it.
  history.replaceState(null, '', location.pathname);
  state.ticket = fragment.get('ticket') ?? '';
  state.doc = fragment.get('doc') ?? '';
  if (fragment.get('lang') === 'en') toggleLang();
  // A reload finds the address bar without the ticket (removed above on the first load): say so.
  const reloaded = (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined)?.type === 'reload';
  if (!state.ticket || !state.doc) return showFailure(reloaded ? 'reloaded' : 'noAccess');
  const width = wantedWidth();
  state.prefetch = { width, blob: fetchPage(state.ticket, state.doc, 1, width) };
  // A failure shows through the info request (same ticket) or when page 1 is shown.
  state.prefetch.blob.catch(() => undefined);
  try {
    state.info = await fetchInfo(state.ticket, state.doc);
  } catch (err) {
    return showFailure(err instanceof ViewError ? err.failure : 'failed');
  }
  ui.status.textContent = '';
  scheduleRenewal(state.info.expiresInSeconds);
  // Title and Aktenzeichen on the page only; the window title stays neutral for the browser's history.
  ui.docTitle.textContent = state.info.title;
  ui.docCase.textContent = state.info.caseNumber ?? '';
  ui.docCaseLine.hidden = state.info.caseNumber === undefined;
  ui.docInfo.hidden = false;
  for (const el of [ui.input, ui.zoomIn, ui.zoomOut, ui.fitWidth, ui.fitPage]) el.disabled = false;
  ui.input.max = String(state.info.pageCount);
  renderCount();
  buildPages(state.info);
  setCurrent(1);
  stopReview = startReview(state.doc);
  document.body.dataset.ready = 'true';
}

void start();
