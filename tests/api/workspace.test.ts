/** The workspace's pages and sign-in configuration (/app), as openapi.yaml documents them. */
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { openapiAgent } from '../support/openapi.ts';
import { withTestApp } from '../../testkit/with-test-app.ts';

describe('the workspace under /app', () => {
  const dev = withTestApp();
  const withProvider = withTestApp({ env: { OIDC_ISSUER: 'https://idp.example.org/realms/behoerde', OIDC_AUDIENCE: 'vs-capture', WORKSPACE_CLIENT_ID: 'arbeitsbereich' } });

  it('tells the page to sign in through the development login, or at the configured provider with the public client', async () => {
    expect((await openapiAgent(dev.app).get('/app/config.json').expect(200)).body).toEqual({ devLogin: true, claims: { roles: 'roles', units: 'units', name: 'name' } });
    expect((await openapiAgent(withProvider.app).get('/app/config.json').expect(200)).body).toEqual({
      devLogin: false,
      oidc: { issuer: 'https://idp.example.org/realms/behoerde', clientId: 'arbeitsbereich', scope: 'openid offline_access' },
      claims: { roles: 'realm_access.roles', units: 'units', name: 'name' },
    });
  });

  it('serves its page and bundle with no-store and a CSP that adds only the provider origin to connect-src', async () => {
    expect((await request(dev.app).get('/app').expect(302)).headers.location).toBe('/app/');
    const page = await openapiAgent(withProvider.app).get('/app/index.html').expect(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-store');
    const csp = page.headers['content-security-policy'] as string;
    expect(csp).toContain("connect-src 'self' https://idp.example.org;");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe');
    expect((await request(dev.app).get('/app/').expect(200)).headers['content-security-policy']).toContain("connect-src 'self';");
    for (const [file, type] of [['workspace.js', 'text/javascript'], ['callback.js', 'text/javascript'], ['workspace.css', 'text/css'], ['callback.html', 'text/html']]) {
      expect((await request(dev.app).get(`/app/${file}`).expect(200)).headers['content-type']).toBe(`${type}; charset=utf-8`);
    }
    expect((await request(dev.app).get('/app/../package.json')).status).toBe(404);
    // No code from data: the bundle never writes HTML from strings.
    expect((await request(dev.app).get('/app/workspace.js')).text).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });
});
