/**
 * A real OpenID Provider (npm oidc-provider, OpenID-certified) in the test process: discovery, JWKS,
 * and JWT access tokens by the client-credentials grant, one client per persona; for browsers also the
 * authorization code flow with PKCE (a public client, oidc-provider's own login and consent pages,
 * where each persona's name is a login). Key rotation swaps in a provider instance with a new signing
 * key first; the old one stays published.
 */
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider from 'oidc-provider';

export interface Persona {
  roles: string[];
  units: string[];
  name?: string;
  /** Token audience; default the service's. */
  audience?: string;
  /** Token lifetime in seconds; default 600. */
  ttlSeconds?: number;
}

export interface OpenIdProvider {
  issuer: string;
  /** An access token (JWT) for the persona named `clientId`. */
  token(clientId: string): Promise<string>;
  /** The status a refresh with `refreshToken` for the public client `clientId` gets (what anyone holding it would get). */
  refresh(clientId: string, refreshToken: string): Promise<number>;
  /** Registers the browser workspace as a public client (code + PKCE, refresh tokens) for this redirect URI, also after sign-out. */
  addBrowserClient(clientId: string, redirectUri: string): void;
  /** Publishes a new signing key (used from now on) beside the old ones. */
  rotateKeys(): Promise<void>;
  /** Stops answering (connections refused) / answers again, on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

const SECRET = 'test-client-secret-0123456789abcdef';
/** The resource indicator under which the service's tokens are issued. */
const RESOURCE = 'urn:vs-capture';

export async function startOpenIdProvider(options: {
  audience: string;
  personas: Record<string, Persona>;
  /** Serve over https with this key and certificate (PEM); the issuer's host name is `host`. */
  tls?: { key: string; cert: string; host: string };
}): Promise<OpenIdProvider> {
  const keys: JWK[] = [await signingKey()];
  let handler: http.RequestListener = () => undefined;
  const listener: http.RequestListener = (req, res) => handler(req, res);
  const server = options.tls ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, listener) : http.createServer(listener);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const issuer = `${options.tls ? 'https' : 'http'}://${options.tls?.host ?? '127.0.0.1'}:${port}`;
  const browserClients: BrowserClient[] = [];
  const build = () => {
    const provider = new Provider(issuer, configuration(options.audience, options.personas, keys, browserClients));
    handler = provider.callback();
  };
  build();
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    issuer,
    token: (clientId) => requestToken(server, issuer, clientId, options.tls?.cert),
    refresh: async (clientId, refreshToken) => (await postToken(server, issuer, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId }, undefined, options.tls?.cert)).status,
    addBrowserClient(clientId, redirectUri) {
      browserClients.push({ clientId, redirectUri });
      build();
    },
    async rotateKeys() {
      keys.unshift(await signingKey());
      build();
    },
    async stop() {
      server.close();
      for (const socket of sockets) socket.destroy();
      await once(server, 'close');
    },
    async start() {
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
  };
}

async function signingKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: `k-${Math.random().toString(36).slice(2, 10)}` };
}

interface BrowserClient {
  clientId: string;
  redirectUri: string;
}

function configuration(audience: string, personas: Record<string, Persona>, keys: JWK[], browserClients: BrowserClient[]): Record<string, unknown> {
  const personaOf = (token: { clientId: string; accountId?: string }) => personas[token.accountId ?? token.clientId]!;
  return {
    clients: [
      ...Object.keys(personas).map((id) => ({ client_id: id, client_secret: SECRET, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], id_token_signed_response_alg: 'ES256' })),
      ...browserClients.map((c) => ({
        client_id: c.clientId,
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [c.redirectUri],
        post_logout_redirect_uris: [c.redirectUri],
        id_token_signed_response_alg: 'ES256',
      })),
    ],
    jwks: { keys },
    // A persona's name is its login (the development login page takes any name, any password).
    findAccount: (_ctx: unknown, id: string) => (personas[id] ? { accountId: id, claims: () => ({ sub: id, name: personas[id]!.name ?? id }) } : undefined),
    // Each persona's token lifetime (the default functions would only log a notice).
    ttl: {
      ClientCredentials: (_ctx: unknown, token: { clientId: string }) => personaOf(token).ttlSeconds ?? 600,
      AccessToken: (_ctx: unknown, token: { clientId: string; accountId?: string }) => personaOf(token).ttlSeconds ?? 600,
    },
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx: { oidc: { account?: { accountId: string } } }, _resource: string, client: { clientId: string }) => {
          const persona = personas[ctx.oidc.account?.accountId ?? client.clientId] ?? { roles: [], units: [] };
          return { scope: 'capture', audience: persona.audience ?? audience, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } };
        },
      },
    },
    // Keycloak's claim shapes: realm roles under realm_access.roles, units as a plain claim.
    extraTokenClaims: (_ctx: unknown, token: { clientId: string; accountId?: string }) => {
      const persona = personaOf(token);
      return { realm_access: { roles: persona.roles }, units: persona.units, name: persona.name ?? token.accountId ?? token.clientId };
    },
  };
}

/** The client-credentials grant against the token endpoint. */
async function requestToken(server: http.Server, issuer: string, clientId: string, ca: string | undefined): Promise<string> {
  const form = { grant_type: 'client_credentials', scope: 'capture', resource: RESOURCE };
  const { status, text } = await postToken(server, issuer, form, `Basic ${Buffer.from(`${clientId}:${SECRET}`).toString('base64')}`, ca);
  if (status !== 200) throw new Error(`token endpoint answered ${status}: ${text}`);
  return (JSON.parse(text) as { access_token: string }).access_token;
}

/** A form POST to the token endpoint, trusting `ca` when over https; its status and body. */
async function postToken(server: http.Server, issuer: string, form: Record<string, string>, authorization: string | undefined, ca: string | undefined): Promise<{ status: number; text: string }> {
  const { port } = server.address() as AddressInfo;
  const send = ca ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = send(
      {
        host: '127.0.0.1',
        port,
        servername: new URL(issuer).hostname,
        method: 'POST',
        path: '/token',
        headers: { host: new URL(issuer).host, 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) },
        ...(ca ? { ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(new URLSearchParams(form).toString());
  });
}
