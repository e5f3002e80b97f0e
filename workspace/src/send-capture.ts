/**
 * Sends one capture: metadata and every file encrypted here as JWE to the service's ingest key; large
 * ciphertexts through resumable uploads (tus) with progress; the attempt's Idempotency-Key and
 * ciphertexts are kept, so "send again" repeats exactly the same request and never duplicates.
 */
import { Upload } from 'tus-js-client';
import { ACCEPTED_MEDIA_TYPES, type DocumentRecord, type JwkSet } from '../../contract/index.ts';
import { api, ApiError, getJson, NetworkError } from './api.ts';
import { accessToken } from './session.ts';
import { h, show } from './dom.ts';
import { lang, t } from './i18n.ts';
import { encryptFor, pickIngestKey } from './encrypt.ts';

/** Ciphertexts above this go through /v1/uploads; then all files do, since one request cannot mix both. */
const RESUMABLE_FROM_BYTES = 8 * 2 ** 20;
/** Media types the service takes; others are sent without `cty` and left to its sniffing. */
export const KNOWN_TYPES: readonly string[] = ACCEPTED_MEDIA_TYPES;

export interface Attempt {
  key: string;
  /** The encrypted parts, kept so "send again" repeats exactly the same request. */
  metadata?: string;
  files?: string[];
}

export const newAttempt = (): Attempt => ({ key: crypto.randomUUID() });

export async function sendCapture(attempt: Attempt, metadata: object, files: File[], ui: { status: HTMLElement; progress: HTMLProgressElement }): Promise<void> {
  const m = t();
  try {
    if (!attempt.metadata || !attempt.files) {
      ui.status.textContent = m.encrypting;
      const key = pickIngestKey(await getJson<JwkSet>('/v1/keys'));
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
    const doc = (await (await api('/v1/documents', { method: 'POST', headers: { 'Idempotency-Key': attempt.key }, body: form })).json()) as DocumentRecord;
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

function showResult(doc: DocumentRecord): void {
  const m = t();
  const findings = doc.transferNote.findings;
  show(
    h('h1', { tabindex: '-1' }, m.captured(doc.pageCount)),
    h('p', { id: 'captured-title', dir: 'auto' }, doc.title),
    ...(findings.length ? [h('ul', { class: 'findings' }, ...findings.map((f) => h('li', {}, f.message)))] : [h('p', {}, m.noFindings)]),
    h('p', {}, h('a', { href: `#/documents/${doc.id}`, id: 'captured-link' }, m.openDocument)),
  );
}
