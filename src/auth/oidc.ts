import { jwtVerify, errors as joseErrors, type JWTVerifyGetKey } from 'jose';
import { AppError } from '../kernel/errors.ts';
import { principalFromClaims, type Authenticator, type Principal } from './principal.ts';
import { ProviderKeys } from './provider-keys.ts';

export interface OidcConfig {
  issuer: string;
  audience: string;
  /** Unset: discovered from the issuer's /.well-known/openid-configuration. */
  jwksUrl: string | undefined;
  rolesClaim: string;
  unitsClaim: string;
  nameClaim: string;
  /** Production: the discovered issuer must equal `issuer` and its jwks_uri must be https. */
  strict: boolean;
  /** Each request to the provider is abandoned after this long. */
  timeoutMs: number;
  /** An unknown key id refetches the key set at most this often. */
  jwksCooldownMs: number;
  /** Allowed clock difference for exp/nbf/iat. */
  clockToleranceSeconds: number;
}

/** Algorithms of the BSI list only (TR-02102): ECDSA on NIST curves and RSA-PSS. */
export const ACCEPTED_JWT_ALGS = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'];

/** How long a key set is used before it is refreshed (a failed refresh keeps it). */
const KEY_SET_MAX_AGE_MS = 10 * 60_000;

/** Verifies access tokens of an OIDC provider (Keycloak and others) against its published keys. */
export function createOidcAuthenticator(
  config: OidcConfig,
  options: { fetch?: typeof fetch; warn?: (details: object, message: string) => void } = {},
): Authenticator {
  const keys = new ProviderKeys({
    issuer: config.issuer,
    jwksUrl: config.jwksUrl,
    strict: config.strict,
    timeoutMs: config.timeoutMs,
    cooldownMs: config.jwksCooldownMs,
    maxAgeMs: KEY_SET_MAX_AGE_MS,
    ...options,
  });
  return {
    authenticate: (token: string): Promise<Principal> => verifyWith(token, keys.resolve, config),
  };
}

export async function verifyWith(
  token: string,
  key: JWTVerifyGetKey | CryptoKey | Uint8Array,
  config: Pick<OidcConfig, 'issuer' | 'audience' | 'rolesClaim' | 'unitsClaim' | 'nameClaim'> & { clockToleranceSeconds?: number },
): Promise<Principal> {
  try {
    const { payload } = await jwtVerify(token, key as JWTVerifyGetKey, {
      issuer: config.issuer,
      audience: config.audience,
      algorithms: ACCEPTED_JWT_ALGS,
      // jose checks exp only when present; a token without one would never expire.
      requiredClaims: ['exp'],
      clockTolerance: config.clockToleranceSeconds ?? 30,
    });
    return principalFromClaims(payload, { roles: config.rolesClaim, units: config.unitsClaim, name: config.nameClaim });
  } catch (err) {
    if (err instanceof AppError) throw err;
    if (err instanceof joseErrors.JOSEError) {
      throw new AppError('unauthenticated', {
        detail: { de: `Das Bearer-Token wurde abgelehnt (${err.code}); melden Sie sich neu an, um ein neues zu erhalten.`, en: `The bearer token was rejected (${err.code}); obtain a new one.` },
        cause: err,
      });
    }
    throw err;
  }
}
