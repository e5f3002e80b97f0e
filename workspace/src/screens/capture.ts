/**
 * Capture from the desk: files dropped or picked, metadata typed; send-capture.ts encrypts everything
 * here as JWE before it leaves the browser, one Idempotency-Key per capture.
 */
import { h, show } from '../dom.ts';
import { t } from '../i18n.ts';
import { KNOWN_TYPES, newAttempt, sendCapture, type Attempt } from '../send-capture.ts';

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
    attempt ??= newAttempt();
    send.disabled = true;
    sendCapture(attempt, metadata, files.slice(), { status, progress }).finally(() => (send.disabled = false));
  });
  show(h('h1', { tabindex: '-1' }, m.captureTitle), h('p', {}, m.captureText), form);
}
