/**
 * The workspace shell: sign-in, then screens chosen by the URL fragment (#/documents, #/documents/<id>,
 * #/review, #/capture, #/camera). Every value on a screen is set as text (dom.ts); nothing is stored on the device.
 */
import { $, h } from './dom.ts';
import { lang, setLang, t } from './i18n.ts';
import { currentUser, loadConfig, signOut, type SignInConfig } from './session.ts';
import { loginScreen } from './screens/login.ts';
import { documentsScreen } from './screens/documents.ts';
import { documentScreen } from './screens/document.ts';
import { captureScreen } from './screens/capture.ts';
import { cameraScreen } from './screens/camera.ts';
import { endViewerReviews } from './viewer-review.ts';

let config: SignInConfig;

function renderShell(): void {
  const m = t();
  document.title = m.appName;
  $('app-name').textContent = m.appName;
  $('skip').textContent = m.skip;
  const langButton = $<HTMLButtonElement>('lang');
  langButton.textContent = m.switchTo;
  langButton.lang = lang() === 'de' ? 'en' : 'de';
  const user = currentUser();
  const nav = $('nav');
  nav.setAttribute('aria-label', m.nav);
  nav.hidden = !user;
  $('sign-out').hidden = !user;
  $('sign-out').textContent = m.signOut;
  $('user').replaceChildren(...(user ? m.signedInAs(h('bdi', {}, user.name)) : []));
  if (!user) return nav.replaceChildren();
  const link = (href: string, text: string, when: boolean) => (when ? h('li', {}, h('a', { href }, text)) : null);
  nav.replaceChildren(
    h(
      'ul',
      {},
      link('#/documents', m.navDocuments, true),
      link('#/review', m.navReview, user.roles.includes('review')),
      link('#/capture', m.navCapture, user.roles.includes('capture')),
      link('#/camera', m.navCamera, user.roles.includes('capture')),
    ),
  );
  for (const a of nav.querySelectorAll('a')) if (a.getAttribute('href') === currentRoute()) a.setAttribute('aria-current', 'page');
}

function currentRoute(): string {
  const hash = location.hash || '#/documents';
  return hash.startsWith('#/documents/') ? '#/documents' : hash.split('?')[0]!;
}

function route(notice?: string): void {
  renderShell();
  const user = currentUser();
  if (!user) return loginScreen(config, notice, () => route());
  const hash = location.hash || '#/documents';
  const doc = /^#\/documents\/([0-9A-Z]{26})$/.exec(hash);
  if (doc) void documentScreen(doc[1]!, user);
  else if (hash === '#/review') documentsScreen({}, true);
  else if (hash === '#/capture') captureScreen();
  else if (hash === '#/camera') cameraScreen();
  else documentsScreen({}, false);
}

async function start(): Promise<void> {
  $('lang').addEventListener('click', () => {
    setLang(lang() === 'de' ? 'en' : 'de');
    route();
  });
  $('sign-out').addEventListener('click', () => {
    endViewerReviews();
    void signOut().then(() => {
      history.replaceState(null, '', location.pathname);
      route(t().signedOut);
    });
  });
  window.addEventListener('hashchange', () => route());
  // A link to the screen already shown starts it afresh (e.g. the next capture after a result).
  $('nav').addEventListener('click', (e) => {
    const link = (e.target as HTMLElement).closest('a');
    if (link && link.getAttribute('href') === location.hash) {
      e.preventDefault();
      route();
    }
  });
  config = await loadConfig(() => {
    endViewerReviews();
    route(t().sessionEnded);
  });
  route();
  document.body.dataset.ready = 'true';
}

void start();
