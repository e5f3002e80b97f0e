/** The sign-in screen: the provider's window, or in development a form to pick user, roles and units. */
import { h, show } from '../dom.ts';
import { t } from '../i18n.ts';
import { signInForDevelopment, signInWithProvider, type SignInConfig } from '../session.ts';

const ROLES = ['capture', 'read', 'export', 'review', 'audit'] as const;

export function loginScreen(config: SignInConfig, notice: string | undefined, done: () => void): void {
  const m = t();
  const message = h('p', { id: 'login-message', role: 'status' }, notice ?? '');
  if (config.oidc) {
    const button = h('button', { type: 'button', id: 'sign-in' }, m.signInButton);
    button.addEventListener('click', () => {
      button.disabled = true;
      signInWithProvider().then(done, (err: unknown) => {
        button.disabled = false;
        message.textContent = err instanceof Error && err.message === 'popup' ? m.signInPopupBlocked : m.signInFailed(err instanceof Error ? err.message : String(err));
      });
    });
    return show(h('h1', { tabindex: '-1' }, m.signInTitle), h('p', {}, m.signInText), button, message);
  }
  const field = (id: string, label: string, value: string) => h('p', {}, h('label', { for: id }, label), h('input', { id, name: id, value, required: true, autocomplete: 'off' }));
  const roles = h(
    'fieldset',
    {},
    h('legend', {}, m.devRoles),
    ...ROLES.map((role) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'role', value: role, checked: role !== 'audit' }), role)),
  );
  const form = h('form', { id: 'dev-login' }, field('dev-sub', m.devSub, 'erika'), field('dev-name', m.devName, 'Erika Mustermann'), roles, field('dev-units', m.devUnits, 'BA-Musterstadt'), h('button', { type: 'submit' }, m.signInButton), message);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = (id: string) => (form.querySelector(`#${id}`) as HTMLInputElement).value.trim();
    const login = {
      sub: value('dev-sub'),
      name: value('dev-name'),
      roles: [...form.querySelectorAll<HTMLInputElement>('input[name="role"]:checked')].map((i) => i.value),
      units: value('dev-units').split(',').map((u) => u.trim()).filter(Boolean),
    };
    signInForDevelopment(login).then(done, (err: unknown) => (message.textContent = m.signInFailed(err instanceof Error ? err.message : String(err))));
  });
  show(h('h1', { tabindex: '-1' }, m.devTitle), h('p', {}, m.devText), form);
}
