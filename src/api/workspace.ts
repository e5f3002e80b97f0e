/**
 * Serves the workspace (sign-in, documents, review, capture) under /app, from memory like the viewer,
 * and /app/config.json: how the browser signs in (the OpenID provider, or the development login).
 */
import { Router } from 'express';
import { bundleWorkspaceNow, WORKSPACE_DIST, WORKSPACE_FILES } from '../../workspace/assets.ts';
import { loadStaticAssets, staticAppRouter, type StaticAssets } from './static-app.ts';
import { CSP_DIRECTIVES, cspHeader, permissionsPolicy } from './middleware/security-headers.ts';

export interface WorkspaceSignIn {
  /** The OpenID provider for the authorization code flow; absent in development, where the dev issuer signs. */
  oidc?: { issuer: string; clientId: string; scope: string };
  devLogin: boolean;
  /** Where the token keeps roles, units and name, so the screens can offer what the caller may do. */
  claims: { roles: string; units: string; name: string };
}

export function loadWorkspaceAssets(production: boolean): Promise<StaticAssets> {
  return loadStaticAssets({
    production,
    distDir: WORKSPACE_DIST,
    names: WORKSPACE_FILES,
    bundle: bundleWorkspaceNow,
  });
}

export function workspaceRouter(assets: StaticAssets, signIn: WorkspaceSignIn): Router {
  // The browser talks to the provider itself (discovery, token, revocation): only that origin is added.
  const csp = cspHeader({ ...CSP_DIRECTIVES, connectSrc: ["'self'", ...(signIn.oidc ? [new URL(signIn.oidc.issuer).origin] : [])] });
  const router = Router();
  router.get('/app/config.json', (_req, res) => {
    res.json(signIn);
  });
  // The camera capture screen needs the device's camera; nothing else is allowed more than elsewhere.
  router.use(staticAppRouter('/app', assets, (res) => res.setHeader('Content-Security-Policy', csp).setHeader('Permissions-Policy', permissionsPolicy({ camera: true }))));
  return router;
}
