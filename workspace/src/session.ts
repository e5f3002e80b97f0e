/**
 * Sign-in: the authorization code flow with PKCE at the configured OpenID provider, in a window of its
 * own so this tab keeps the verifier in memory (no storage API); tokens live in this module's variables
 * only and are renewed by the refresh token while the tab is open. In development the service's own
 * issuer signs tokens for the user, roles and units picked on the login screen.
 */
import type { WorkspaceConfig } from '../../contract/index.ts';

export type SignInConfig = WorkspaceConfig;

export interface User {
  sub: string;
  name: string;
  roles: string[];
  units: string[];
}

export interface DevLogin {
  sub: string;
  name: string;
  roles: string[];
  units: string[];
}

interface Provider {
  authorization_endpoint: string;
  token_endpoint: string;
  revocation_endpoint?: string;
  end_session_endpoint?: string;
}

interface TokenSet {
  access: string;
  refresh?: string;
  /** What renews this token set. */
  renew: () => Promise<TokenSet>;
  expiresIn: number;
}

/** The channel the sign-in window's callback page answers on (same origin only, nothing stored). */
export const CALLBACK_CHANNEL = 'vs-capture-signin';
/** The window the provider's sign-out page opens in. */
const SIGN_OUT_WINDOW = 'vs-capture-signout';
/** Renew when this share of the token's lifetime has passed. */
const RENEW_AT = 0.7;

let tokens: TokenSet | undefined;
let renewTimer: ReturnType<typeof setTimeout> | undefined;
let provider: Provider | undefined;
let config: SignInConfig;
let onEnded: () => void = () => undefined;

export async function loadConfig(whenEnded: () => void): Promise<SignInConfig> {
  onEnded = whenEnded;
  const res = await fetch('/app/config.json', { cache: 'no-store', credentials: 'omit' });
  config = (await res.json()) as SignInConfig;
  if (config.oidc) {
    const discovery = await fetch(`${config.oidc.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, { cache: 'no-store', credentials: 'omit' });
    provider = (await discovery.json()) as Provider;
  }
  return config;
}

export const accessToken = (): string | undefined => tokens?.access;

/** The caller as the token says (for the screens; the service decides every access itself). */
export function currentUser(): User | undefined {
  if (!tokens) return undefined;
  const payload = JSON.parse(new TextDecoder().decode(base64urlDecode(tokens.access.split('.')[1] ?? ''))) as Record<string, unknown>;
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : []);
  const sub = String(payload.sub ?? '');
  const name = claimAt(payload, config.claims.name);
  return { sub, name: typeof name === 'string' && name ? name : sub, roles: list(claimAt(payload, config.claims.roles)), units: list(claimAt(payload, config.claims.units)) };
}

function claimAt(payload: Record<string, unknown>, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), payload);
}

/** Opens the provider's sign-in in a window of its own and waits for the code it sends back. */
export async function signInWithProvider(): Promise<void> {
  const oidc = config.oidc!;
  // Opened before any await: browsers allow pop-ups only in the click's own turn.
  const popup = window.open('about:blank', 'vs-capture-signin', 'popup,width=520,height=720');
  if (!popup) throw new Error('popup');
  const verifier = randomString(32);
  const state = randomString(16);
  const redirectUri = `${location.origin}/app/callback.html`;
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  const url = new URL(provider!.authorization_endpoint);
  for (const [k, v] of Object.entries({ response_type: 'code', client_id: oidc.clientId, redirect_uri: redirectUri, scope: oidc.scope, state, code_challenge: challenge, code_challenge_method: 'S256' })) url.searchParams.set(k, v);
  // OpenID Connect Core §11: a refresh token (offline_access) is granted only with prompt=consent.
  if (oidc.scope.split(' ').includes('offline_access')) url.searchParams.set('prompt', 'consent');
  const answer = waitForCallback(state);
  popup.location.href = url.href;
  const params = await answer;
  const error = params.get('error');
  if (error) throw new Error(params.get('error_description') ?? error);
  await accept(await tokenRequest({ grant_type: 'authorization_code', code: params.get('code') ?? '', redirect_uri: redirectUri, client_id: oidc.clientId, code_verifier: verifier }));
}

function waitForCallback(state: string): Promise<URLSearchParams> {
  return new Promise((resolve) => {
    const channel = new BroadcastChannel(CALLBACK_CHANNEL);
    channel.onmessage = (event: MessageEvent<{ search?: string }>) => {
      const params = new URLSearchParams(event.data.search ?? '');
      // Another tab's sign-in, or a forged message: only the answer to our own state counts.
      if (params.get('state') !== state) return;
      channel.close();
      resolve(params);
    };
  });
}

async function tokenRequest(form: Record<string, string>): Promise<TokenSet> {
  const res = await fetch(provider!.token_endpoint, { method: 'POST', body: new URLSearchParams(form), cache: 'no-store', credentials: 'omit' });
  const body = (await res.json().catch(() => ({}))) as { access_token?: string; refresh_token?: string; expires_in?: number; error?: string; error_description?: string };
  if (!res.ok || !body.access_token) throw new Error(body.error_description ?? body.error ?? `HTTP ${res.status}`);
  const refresh = body.refresh_token;
  return {
    access: body.access_token,
    ...(refresh ? { refresh } : {}),
    expiresIn: body.expires_in ?? 300,
    renew: () => {
      if (!refresh) return Promise.reject(new Error('no refresh token'));
      return tokenRequest({ grant_type: 'refresh_token', refresh_token: refresh, client_id: config.oidc!.clientId });
    },
  };
}

/** Development: the service's own issuer signs a token for the chosen user. */
export async function signInForDevelopment(login: DevLogin): Promise<void> {
  await accept(await devToken(login));
}

async function devToken(login: DevLogin): Promise<TokenSet> {
  const res = await fetch('/v1/dev/token', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(login), cache: 'no-store', credentials: 'omit' });
  const body = (await res.json()) as { access_token?: string; expires_in?: number; detail?: string };
  if (!res.ok || !body.access_token) throw new Error(body.detail ?? `HTTP ${res.status}`);
  return { access: body.access_token, expiresIn: body.expires_in ?? 3600, renew: () => devToken(login) };
}

async function accept(next: TokenSet): Promise<void> {
  tokens = next;
  clearTimeout(renewTimer);
  renewTimer = setTimeout(() => void renew(), next.expiresIn * RENEW_AT * 1000);
}

/** Silent renewal; when it fails the session ends and the sign-in screen says so. */
export async function renew(): Promise<boolean> {
  if (!tokens) return false;
  try {
    await accept(await tokens.renew());
    document.body.dataset.renewals = String(Number(document.body.dataset.renewals ?? 0) + 1);
    return true;
  } catch {
    forget();
    onEnded();
    return false;
  }
}

/**
 * Signs out: every token leaves memory, the provider's session ends (RP-initiated logout, in a window
 * of its own), and the refresh token is revoked (best effort). Call it in the click's own turn.
 */
export async function signOut(): Promise<void> {
  const refresh = tokens?.refresh;
  forget();
  if (config.oidc && provider?.end_session_endpoint) endProviderSession(provider.end_session_endpoint, config.oidc.clientId);
  if (refresh && provider?.revocation_endpoint && config.oidc) {
    await fetch(provider.revocation_endpoint, { method: 'POST', body: new URLSearchParams({ token: refresh, token_type_hint: 'refresh_token', client_id: config.oidc.clientId }), credentials: 'omit' }).catch(() => undefined);
  }
}

/**
 * OpenID Connect RP-Initiated Logout 1.0 in a window of its own: `client_id` and
 * `post_logout_redirect_uri` (§2 allows them without `id_token_hint`); the provider asks for
 * confirmation, then sends the window to the callback page, which closes it. No ID token is sent:
 * Chromium keeps a navigation's URL in its history and a POST's body in its session file, and the
 * ID token names the person. Without this the provider's session cookie would sign the next
 * "Anmelden" in silently.
 */
function endProviderSession(endpoint: string, clientId: string): void {
  const url = new URL(endpoint);
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('post_logout_redirect_uri', `${location.origin}/app/callback.html`);
  // Opened before any await: browsers allow pop-ups only in the click's own turn.
  window.open(url.href, SIGN_OUT_WINDOW, 'popup,width=520,height=720');
}

function forget(): void {
  tokens = undefined;
  clearTimeout(renewTimer);
}

function randomString(bytes: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function base64urlDecode(text: string): Uint8Array {
  const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}
