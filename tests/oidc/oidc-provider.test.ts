/**
 * The OIDC path against a real OpenID Provider (oidc-provider) and the service as its own process:
 * discovery, roles and units claims, audience, expiry, key rotation, the last good key set while the
 * provider is down, and 503 with Retry-After when it was never reachable.
 */
import { createServer } from 'node:net';
import { once } from 'node:events';
import { decodeJwt, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegWithMarker, newMarker } from '../../testkit/capture-fixtures.ts';
import { startService, type ServiceProcess } from '../../testkit/service-process.ts';
import { startOpenIdProvider, type OpenIdProvider } from '../support/openid-provider.ts';

const AUDIENCE = 'vs-capture';
const UNIT = 'BA-Nord';

describe('OIDC against a real OpenID Provider', () => {
  let idp: OpenIdProvider;
  let service: ServiceProcess;

  beforeAll(async () => {
    idp = await startOpenIdProvider({
      audience: AUDIENCE,
      personas: {
        'erika': { roles: ['capture', 'read'], units: [UNIT], name: 'Erika Mustermann' },
        'sued-reader': { roles: ['read'], units: ['BA-Süd'] },
        'no-roles': { roles: [], units: [UNIT] },
        'elsewhere': { roles: ['capture', 'read'], units: [UNIT], audience: 'another-service' },
        'short': { roles: ['read'], units: [UNIT], ttlSeconds: 2 },
      },
    });
    // No clock tolerance and no refetch cooldown, so expiry and rotation show at once.
    service = await startService({ OIDC_ISSUER: idp.issuer, OIDC_AUDIENCE: AUDIENCE, OIDC_CLOCK_TOLERANCE_SECONDS: '0', OIDC_JWKS_COOLDOWN_SECONDS: '0' });
  });
  afterAll(async () => {
    await service?.stop();
    await idp?.stop().catch(() => undefined);
  });

  const get = (path: string, token: string) => fetch(`${service.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

  async function capture(token: string): Promise<Response> {
    const form = new FormData();
    form.append('metadata', JSON.stringify({ title: 'Über OIDC' }));
    form.append('file', new Blob([new Uint8Array(await jpegWithMarker(newMarker()))], { type: 'image/jpeg' }), 'a.jpg');
    return fetch(`${service.url}/v1/documents`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  }

  it('discovers the provider and takes roles, units and name from its token', async () => {
    const token = await idp.token('erika');
    const created = await capture(token);
    expect(created.status).toBe(201);
    const doc = (await created.json()) as { id: string; unit: string; transferNote: { capturedBy: { sub: string; name: string } } };
    expect(doc.unit).toBe(UNIT);
    expect(doc.transferNote.capturedBy).toEqual({ sub: 'erika', name: 'Erika Mustermann' });
    expect((await get(`/v1/documents/${doc.id}`, token)).status).toBe(200);
    // Another unit's reader does not see it; a token without roles may not capture.
    expect((await get(`/v1/documents/${doc.id}`, await idp.token('sued-reader'))).status).toBe(404);
    expect((await capture(await idp.token('no-roles'))).status).toBe(403);
  });

  it('refuses a token issued for another audience', async () => {
    const res = await get('/v1/documents/01JZZZZZZZZZZZZZZZZZZZZZZZ', await idp.token('elsewhere'));
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'unauthenticated' });
  });

  it('refuses a token once it has expired', async () => {
    const token = await idp.token('short');
    expect((await get('/v1/documents/01JZZZZZZZZZZZZZZZZZZZZZZZ', token)).status).toBe(404);
    const { exp } = decodeJwt(token);
    // Waits for the clock to pass the token's own expiry (not a guess about the service's speed).
    while (Date.now() < (exp! + 1) * 1000) await new Promise((resolve) => setTimeout(resolve, 200));
    const res = await get('/v1/documents/01JZZZZZZZZZZZZZZZZZZZZZZZ', token);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/ERR_JWT_EXPIRED/);
  });

  it('follows a key rotation: a token signed with the new key is accepted, the old key still works', async () => {
    const before = await idp.token('erika');
    expect((await get('/v1/documents/01JZZZZZZZZZZZZZZZZZZZZZZZ', before)).status).toBe(404);
    await idp.rotateKeys();
    const after = await idp.token('erika');
    expect(decodeJwt(after).sub).toBe('erika');
    expect(JSON.parse(Buffer.from(after.split('.')[0]!, 'base64url').toString()).kid).not.toBe(JSON.parse(Buffer.from(before.split('.')[0]!, 'base64url').toString()).kid);
    expect((await get('/v1/documents/01JZZZZZZZZZZZZZZZZZZZZZZZ', after)).status).toBe(404);
    expect((await get('/v1/documents/01JZZZZZZZZZZZZZZZZZZZZZZZ', before)).status).toBe(404);
  });

  it('keeps the last good key set while the provider is down', async () => {
    const token = await idp.token('erika');
    expect((await get('/v1/documents/01JZZZZZZZZZZZZZZZZZZZZZZZ', token)).status).toBe(404);
    await idp.stop();
    try {
      // An unknown key id makes the service try the provider, which fails: the kept set still decides.
      const { privateKey } = await generateKeyPair('ES256');
      const foreign = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'unknown' }).setSubject('x').setIssuer(idp.issuer).setAudience(AUDIENCE).setExpirationTime('5m').sign(privateKey);
      expect((await get('/v1/documents/01JZZZZZZZZZZZZZZZZZZZZZZZ', foreign)).status).toBe(401);
      expect((await get('/v1/documents/01JZZZZZZZZZZZZZZZZZZZZZZZ', token)).status).toBe(404);
    } finally {
      await idp.start();
    }
  });
});

describe('OIDC with a provider that was never reachable', () => {
  let service: ServiceProcess;

  beforeAll(async () => {
    // A port that was free a moment ago: connections are refused.
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as import('node:net').AddressInfo;
    probe.close();
    service = await startService({ OIDC_ISSUER: `http://127.0.0.1:${port}`, OIDC_AUDIENCE: AUDIENCE });
  });
  afterAll(() => service?.stop());

  it('answers 503 idp_unavailable with Retry-After instead of hanging or failing with 500', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k' }).setSubject('x').setAudience(AUDIENCE).setExpirationTime('5m').sign(privateKey);
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${service.url}/v1/documents`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      expect(await res.json()).toMatchObject({ code: 'idp_unavailable' });
    }
  });
});
