import { createRemoteJWKSet, jwtVerify, errors as joseErrors, type JWTVerifyGetKey } from 'jose';
import type { OidcConfig } from '../config.ts';
import { AppError } from '../errors.ts';
import { principalFromClaims, type Authenticator, type Principal } from './principal.ts';

/** Algorithms of the BSI list only (TR-02102): ECDSA on NIST curves and RSA-PSS. */
export const ACCEPTED_JWT_ALGS = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'];

/** Verifies access tokens of an OIDC provider (Keycloak and others) against its published keys. */
export function createOidcAuthenticator(config: OidcConfig, fetchImpl: typeof fetch = fetch): Authenticator {
  let keys: Promise<JWTVerifyGetKey> | undefined;
  const getKeys = () => (keys ??= discoverJwks(config, fetchImpl).catch((err) => {
    keys = undefined; // retry discovery on the next request instead of caching the failure
    throw err;
  }));
  return {
    async authenticate(token: string): Promise<Principal> {
      const jwks = await getKeys();
      return verifyWith(token, jwks, config);
    },
  };
}

export async function verifyWith(
  token: string,
  key: JWTVerifyGetKey | CryptoKey | Uint8Array,
  config: Pick<OidcConfig, 'issuer' | 'audience' | 'rolesClaim' | 'unitsClaim' | 'nameClaim'>,
): Promise<Principal> {
  try {
    const { payload } = await jwtVerify(token, key as JWTVerifyGetKey, {
      issuer: config.issuer,
      audience: config.audience,
      algorithms: ACCEPTED_JWT_ALGS,
      // jose checks exp only when present; a token without one would never expire.
      requiredClaims: ['exp'],
      clockTolerance: 30,
    });
    return principalFromClaims(payload, { roles: config.rolesClaim, units: config.unitsClaim, name: config.nameClaim });
  } catch (err) {
    if (err instanceof AppError) throw err;
    if (err instanceof joseErrors.JOSEError) {
      throw new AppError('unauthenticated', { detail: `The bearer token was rejected (${err.code}); obtain a new one.`, cause: err });
    }
    throw err;
  }
}

async function discoverJwks(config: OidcConfig, fetchImpl: typeof fetch): Promise<JWTVerifyGetKey> {
  if (config.jwksUrl) return createRemoteJWKSet(new URL(config.jwksUrl));
  const url = `${config.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const res = await fetchImpl(url);
  const meta = (await res.json()) as { jwks_uri?: unknown };
  if (!res.ok || typeof meta.jwks_uri !== 'string') {
    throw new AppError('internal', { detail: 'The identity provider did not publish a jwks_uri.' });
  }
  return createRemoteJWKSet(new URL(meta.jwks_uri));
}
