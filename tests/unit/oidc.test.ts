import { generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { verifyWith } from '../../src/auth/oidc.ts';

const config = { issuer: 'https://idp.example/realms/behoerde', audience: 'vs-capture', rolesClaim: 'roles', unitsClaim: 'units', nameClaim: 'name' };

describe('OIDC access token verification', () => {
  it('refuses a token without an expiry, which would otherwise be valid forever', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const token = await new SignJWT({ roles: ['admin'], units: ['BA-Nord'] })
      .setProtectedHeader({ alg: 'ES256' })
      .setSubject('u1')
      .setIssuer(config.issuer)
      .setAudience(config.audience)
      .setIssuedAt()
      .sign(privateKey);
    await expect(verifyWith(token, publicKey, config)).rejects.toMatchObject({ code: 'unauthenticated' });
  });
});
