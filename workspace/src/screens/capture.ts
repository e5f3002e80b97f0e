/**
 * Capture from the desk: files dropped or picked, metadata typed; everything is encrypted here as JWE
 * before it leaves the browser. Large ciphertexts go through resumable uploads (tus) with progress; one
 * Idempotency-Key per capture, kept for "send again", so a retry never creates a second document.
 */
import { Upload } from 'tus-js-client';
import type { JWK } from 'jose';
import { api, ApiError, getJson, NetworkError, type DocumentView } from '../api.ts';
import { accessToken } from '../session.ts';
import { h, show } from '../dom.ts';
import { lang, t } from '../i18n.ts';
import { encryptFor, pickIngestKey } from '../encrypt.ts';

/** Ciphertexts above this go through /v1/uploads; then all files do, since one request cannot mix both. */
const RESUMABLE_FROM_BYTES = 8 * 2 ** 20;
/** Media types the service takes; others are sent without `cty` and left to its sniffing. */
const KNOWN_TYPES = ['application/pdf', 'image/jpeg', 'image/png', 'image/tiff', 'image/webp', 'image/heic', 'image/heif', 'image/avif'];

interface Attempt {
  key: string;
  /** The encrypted parts, kept so "send again" repeats exactly the same request. */
  metadata?: string;
  files?: string[];
}

export function captureScreen(): void {
  const m = t();
  const files: File[] = [];
  let attempt: Attempt | undefined;
  const field = (id: string, label: string, attrs: Record<string, string | boolean> = {}) =>
    h('p', {}, h('label', { for: id }, label), h('input', { id, name: id, autocomplete: 'off', ...attrs }));
  const picker = h('input', { id: 'capture-files', type: 'file', multiple: true, accept: KNOWN_TYPES.join(',') });
  const list = h('ul', { id: 'file-list', 'aria-live': 'polite' });
  const drop = h('div', { id: 'drop-zone', class: 'drop' }, m.dropHere);
  const progress = h('progress', { id: 'capture-progress', max: '100', value: '0', hidden: true, 'aria-label': m.uploading });
  const status = h('p', { id: 'capture-status', role: 'status' });
  const classification = h('select', { id: 'capture-classification' }, h('option', { value: 'VS-NfD' }, 'VS-NfD'), h('option', { value: 'OFFEN' }, 'OFFEN'));
  const send = h('button', { type: 'submit', id: 'capture-send' }, m.send);
  const form = h(
    'form',
    { id: 'capture-form' },
    field('capture-title', m.captureTitleField, { required: true, maxlength: '300' }),
    field('capture-case', m.captureCase, { maxlength: '100' }),
    field('capture-office', m.captureOffice, { maxlength: '200' }),
    h('p', {}, h('label', { for: 'capture-classification' }, m.captureClassification), classification),
    h('p', {}, h('label', { for: 'capture-files' }, m.captureFiles), picker),
    drop,
    list,
    send,
    progress,
    status,
  );
  const changed = () => {
    attempt = undefined;
    list.replaceChildren(
      ...files.map((file, i) => {
        const remove = h('button', { type: 'button', class: 'remove', 'aria-label': m.remove(file.name) }, '×');
        remove.addEventListener('click', () => {
          files.splice(i, 1);
          changed();
        });
        return h('li', {}, h('span', { dir: 'auto' }, file.name), ` (${Math.ceil(file.size / 1024)} KiB) `, remove);
      }),
    );
  };
  const add = (chosen: FileList | null) => {
    files.push(...Array.from(chosen ?? []));
    changed();
  };
  picker.addEventListener('change', () => {
    add(picker.files);
    picker.value = '';
  });
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    add(e.dataTransfer?.files ?? null);
  });
  for (const id of ['capture-title', 'capture-case', 'capture-office']) form.querySelector(`#${id}`)!.addEventListener('input', () => (attempt = undefined));
  classification.addEventListener('change', () => (attempt = undefined));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = (id: string) => (form.querySelector(`#${id}`) as HTMLInputElement).value.trim();
    if (!value('capture-title')) return void (status.textContent = m.noTitle);
    if (!files.length) return void (status.textContent = m.noFiles);
    const metadata = {
      title: value('capture-title'),
      ...(value('capture-case') ? { caseNumber: value('capture-case') } : {}),
      ...(value('capture-office') ? { issuingOffice: value('capture-office') } : {}),
      classification: classification.value,
      source: 'scanner',
      capturedAt: new Date().toISOString(),
    };
    // The same key (and the same ciphertext) for every retry of this capture.
    attempt ??= { key: crypto.randomUUID() };
    send.disabled = true;
    run(attempt, metadata, files.slice(), { status, progress }).finally(() => (send.disabled = false));
  });
  show(h('h1', { tabindex: '-1' }, m.captureTitle), h('p', {}, m.captureText), form);
}

async function run(attempt: Attempt, metadata: object, files: File[], ui: { status: HTMLElement; progress: HTMLProgressElement }): Promise<void> {
  const m = t();
  try {
    if (!attempt.metadata || !attempt.files) {
      ui.status.textContent = m.encrypting;
      const key = pickIngestKey(await getJson<{ keys: JWK[] }>('/v1/keys'));
      attempt.metadata = await encryptFor(key, new TextEncoder().encode(JSON.stringify(metadata)), 'application/json');
      attempt.files = [];
      for (const file of files) attempt.files.push(await encryptFor(key, new Uint8Array(await file.arrayBuffer()), KNOWN_TYPES.includes(file.type) ? file.type : undefined));
    }
    const form = new FormData();
    form.append('metadata', new Blob([attempt.metadata], { type: 'application/jose' }), 'metadata.jwe');
    const total = attempt.files.reduce((n, f) => n + f.length, 0);
    if (attempt.files.some((f) => f.length > RESUMABLE_FROM_BYTES)) {
      ui.status.textContent = m.uploading;
      let done = 0;
      for (const jwe of attempt.files) {
        form.append('upload', await resumable(jwe, (sent) => setProgress(ui.progress, (done + sent) / total)));
        done += jwe.length;
      }
    } else for (const jwe of attempt.files) form.append('file', new Blob([jwe], { type: 'application/jose' }), 'part.jwe');
    ui.status.textContent = m.processing;
    const doc = (await (await api('/v1/documents', { method: 'POST', headers: { 'Idempotency-Key': attempt.key }, body: form })).json()) as DocumentView;
    setProgress(ui.progress, 1);
    showResult(doc);
  } catch (err) {
    ui.status.textContent = err instanceof NetworkError || (err instanceof ApiError && err.problem.status === 503) ? m.networkFailed : err instanceof ApiError ? err.message : m.failed;
    ui.status.setAttribute('role', 'alert');
  }
}

function setProgress(bar: HTMLProgressElement, share: number): void {
  bar.hidden = false;
  bar.value = Math.round(share * 100);
}

/** One resumable upload of a ciphertext; its upload id. Nothing is fingerprinted into storage. */
function resumable(jwe: string, onProgress: (sent: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const upload = new Upload(new Blob([jwe], { type: 'application/jose' }), {
      endpoint: `${location.origin}/v1/uploads`,
      headers: { Authorization: `Bearer ${accessToken() ?? ''}`, 'Accept-Language': lang() },
      metadata: { filetype: 'application/jose' },
      storeFingerprintForResuming: false,
      retryDelays: [0, 1000, 3000, 5000],
      onProgress: (sent) => onProgress(sent),
      onError: reject,
      onSuccess: () => resolve(upload.url!.split('/').pop()!),
    });
    upload.start();
  });
}

function showResult(doc: DocumentView): void {
  const m = t();
  const findings = doc.transferNote.findings;
  show(
    h('h1', { tabindex: '-1' }, m.captured(doc.pageCount)),
    h('p', { id: 'captured-title', dir: 'auto' }, doc.title),
    ...(findings.length ? [h('ul', { class: 'findings' }, ...findings.map((f) => h('li', {}, f.message)))] : [h('p', {}, m.noFindings)]),
    h('p', {}, h('a', { href: `#/documents/${doc.id}`, id: 'captured-link' }, m.openDocument)),
  );
}
