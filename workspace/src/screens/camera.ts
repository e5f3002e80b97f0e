/**
 * Capture with the camera (a phone in the container's secure browser): pages one after another without
 * a dialog between them, each page's corners shown on its photo to drag into place, retake or delete a
 * page, then all pages sent as one document, encrypted here (send-capture.ts). Photos live in memory only.
 * Corners: the preview starts with the page found in the browser (page-detect.ts), or the whole frame
 * when none was found; found or moved corners are sent as placed, the others as null so the service
 * finds the page itself.
 */
import { h, onLeave, show } from '../dom.ts';
import { t } from '../i18n.ts';
import { cornerEditor, fullFrame, isConvex, type Shot } from '../corner-editor.ts';
import { newAttempt, sendCapture, type Attempt } from '../send-capture.ts';
import { detectCorners } from '../page-detect.ts';

const JPEG_QUALITY = 0.92;
const THUMB_WIDTH = 72;

export function cameraScreen(): void {
  const m = t();
  const shots: Shot[] = [];
  let selected: number | undefined;
  let retaking: number | undefined;
  let attempt: Attempt | undefined;
  let stream: MediaStream | undefined;

  const video = h('video', { id: 'camera-video', autoplay: true, muted: true, playsinline: true, 'aria-label': m.cameraView });
  const shoot = h('button', { type: 'button', id: 'camera-shoot', class: 'shoot', disabled: true }, m.shoot);
  const live = h('section', { id: 'camera-live', 'aria-label': m.cameraView }, video, h('p', { class: 'actions' }, shoot));
  const pages = h('ol', { id: 'camera-pages', class: 'shots', 'aria-label': m.cameraPages });
  const said = h('p', { id: 'camera-status', role: 'status' });
  const preview = h('section', { id: 'camera-preview', hidden: true, 'aria-labelledby': 'camera-preview-title' });
  const field = (id: string, label: string, attrs: Record<string, string | boolean> = {}) =>
    h('p', {}, h('label', { for: id }, label), h('input', { id, name: id, autocomplete: 'off', ...attrs }));
  const classification = h('select', { id: 'camera-classification' }, h('option', { value: 'VS-NfD' }, 'VS-NfD'), h('option', { value: 'OFFEN' }, 'OFFEN'));
  const send = h('button', { type: 'submit', id: 'camera-send' }, m.sendPages(0));
  const progress = h('progress', { id: 'camera-progress', max: '100', value: '0', hidden: true, 'aria-label': m.uploading });
  const status = h('p', { id: 'camera-send-status', role: 'status' });
  const form = h(
    'form',
    { id: 'camera-form' },
    field('camera-title', m.captureTitleField, { required: true, maxlength: '300' }),
    field('camera-case', m.captureCase, { maxlength: '100' }),
    h('p', {}, h('label', { for: 'camera-classification' }, m.captureClassification), classification),
    send,
    progress,
    status,
  );

  const render = () => {
    attempt = undefined;
    live.hidden = selected !== undefined;
    shoot.textContent = retaking === undefined ? m.shoot : m.retakePage(retaking + 1);
    send.textContent = m.sendPages(shots.length);
    pages.replaceChildren(
      ...shots.map((shot, i) => {
        const thumb = h('canvas', { width: String(THUMB_WIDTH), height: String(Math.round((THUMB_WIDTH * shot.frame.height) / shot.frame.width)), 'aria-hidden': 'true' });
        thumb.getContext('2d')!.drawImage(shot.frame, 0, 0, thumb.width, thumb.height);
        const open = h('button', { type: 'button', class: 'shot', id: `shot-${i}`, 'aria-pressed': String(selected === i) }, thumb, h('span', {}, m.pageN(i + 1)));
        open.addEventListener('click', () => {
          selected = i;
          retaking = undefined;
          render();
          preview.querySelector<HTMLElement>('#corner-0')?.focus();
        });
        return h('li', {}, open);
      }),
    );
    preview.hidden = selected === undefined;
    if (selected === undefined) return preview.replaceChildren();
    const at = selected;
    const retake = h('button', { type: 'button', id: 'camera-retake' }, m.retake);
    const remove = h('button', { type: 'button', id: 'camera-delete', class: 'secondary' }, m.deletePage);
    const done = h('button', { type: 'button', id: 'camera-done', class: 'secondary' }, m.backToCamera);
    retake.addEventListener('click', () => {
      retaking = at;
      selected = undefined;
      render();
      shoot.focus();
    });
    remove.addEventListener('click', () => {
      shots.splice(at, 1);
      selected = undefined;
      said.textContent = m.pageDeleted(at + 1);
      render();
      shoot.focus();
    });
    done.addEventListener('click', () => {
      selected = undefined;
      render();
      shoot.focus();
    });
    preview.replaceChildren(
      h('h2', { id: 'camera-preview-title' }, m.checkCorners(at + 1)),
      h('p', {}, m.cornersHint),
      cornerEditor(shots[at]!),
      h('p', { class: 'actions' }, retake, remove, done),
    );
  };
  // A moved corner changes what is sent: a new attempt (new key, new ciphertexts).
  preview.addEventListener('pointerup', () => (attempt = undefined));
  preview.addEventListener('keyup', () => (attempt = undefined));

  shoot.addEventListener('click', () => {
    void takeShot(video).then((shot) => {
      if (retaking !== undefined) {
        shots[retaking] = shot;
        said.textContent = m.pageRetaken(retaking + 1);
        selected = retaking;
        retaking = undefined;
      } else {
        shots.push(shot);
        said.textContent = m.pageTaken(shots.length);
      }
      render();
    });
  });
  for (const id of ['camera-title', 'camera-case']) form.querySelector(`#${id}`)!.addEventListener('input', () => (attempt = undefined));
  classification.addEventListener('change', () => (attempt = undefined));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = (id: string) => (form.querySelector(`#${id}`) as HTMLInputElement).value.trim();
    if (!shots.length) return void (status.textContent = m.noPages);
    if (!value('camera-title')) return void (status.textContent = m.noTitle);
    const bent = shots.findIndex((s) => !isConvex(s.corners));
    if (bent >= 0) return void (status.textContent = m.cornersNotConvex(bent + 1));
    const metadata = {
      title: value('camera-title'),
      ...(value('camera-case') ? { caseNumber: value('camera-case') } : {}),
      classification: classification.value,
      source: 'camera',
      capturedAt: new Date().toISOString(),
      ...(shots.some((s) => s.known) ? { corners: shots.map((s) => (s.known ? s.corners : null)) } : {}),
    };
    const files = shots.map((s, i) => new File([s.jpeg as Uint8Array<ArrayBuffer>], `seite-${i + 1}.jpg`, { type: 'image/jpeg' }));
    attempt ??= newAttempt();
    send.disabled = true;
    // The result screen replaces this one, which turns the camera off (onLeave).
    void sendCapture(attempt, metadata, files, { status, progress }).finally(() => (send.disabled = false));
  });

  show(h('h1', { tabindex: '-1' }, m.cameraTitle), h('p', {}, m.cameraText), live, said, pages, preview, form);
  let left = false;
  const stop = () => stream?.getTracks().forEach((track) => track.stop());
  onLeave(() => {
    left = true;
    stop();
  });
  render();
  void navigator.mediaDevices
    ?.getUserMedia({ video: { facingMode: 'environment', width: { ideal: 1920 }, height: { ideal: 1080 } }, audio: false })
    .then(async (s) => {
      stream = s;
      // The screen was left before the camera answered: turn it off at once.
      if (left) return stop();
      video.srcObject = s;
      await video.play();
      shoot.disabled = false;
    })
    .catch((err: unknown) => {
      said.textContent = m.cameraUnavailable(err instanceof DOMException ? err.name : String(err));
      said.setAttribute('role', 'alert');
    });
  if (!navigator.mediaDevices) said.textContent = m.cameraUnavailable('mediaDevices');
}

/** The current video frame as a JPEG, kept with its canvas for the preview, and the page found in it. */
async function takeShot(video: HTMLVideoElement): Promise<Shot> {
  const frame = h('canvas', { width: String(video.videoWidth), height: String(video.videoHeight) });
  frame.getContext('2d')!.drawImage(video, 0, 0);
  const blob = await new Promise<Blob>((resolve, reject) => frame.toBlob((b) => (b ? resolve(b) : reject(new Error('toBlob'))), 'image/jpeg', JPEG_QUALITY));
  const found = detectCorners(frame);
  return { frame, jpeg: new Uint8Array(await blob.arrayBuffer()), corners: found ?? fullFrame(frame.width, frame.height), known: found !== undefined };
}
