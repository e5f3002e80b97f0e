import path from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { z } from 'zod';
import type { DevTokenRequest as ContractDevTokenRequest } from '../../contract/index.ts';
import type { ClaimPaths } from './principal.ts';
import { ROLES, type Authenticator, type Role } from './principal.ts';
import { says } from '../kernel/validation.ts';
import { verifyWith } from './oidc.ts';
import { loadOrCreateKeyFile } from '../keys/key-file.ts';

const ISSUER = 'urn:vs-capture:dev';
const AUDIENCE = 'vs-capture';
const TOKEN_TTL_SECONDS = 8 * 3600;
const ALG = 'ES256';

/** A token without roles or without units can do nothing: say so instead of issuing it. */
function nonEmpty<T>(item: z.ZodType<T>, max: number, why: { de: string; en: string }) {
  return z
    .array(item)
    .max(max)
    .optional()
    .superRefine((list, ctx) => {
      if (!list?.length) ctx.addIssue({ code: 'custom', ...says(why.de, why.en) });
    })
    .transform((list) => list ?? []);
}

/** What POST /v1/dev/token accepts. */
export const devTokenRequestSchema = z.strictObject({
  sub: z.string().min(1).max(128),
  name: z.string().min(1).max(200).optional(),
  roles: nonEmpty(z.enum(ROLES), ROLES.length, {
    de: `fehlt oder ist leer: ein Token ohne Rollen darf nichts; geben Sie Rollen an, z. B. ["capture", "read"] (möglich: ${ROLES.join(', ')})`,
    en: `is missing or empty: a token without roles may do nothing; give roles, e.g. ["capture", "read"] (possible: ${ROLES.join(', ')})`,
  }),
  units: nonEmpty(z.string().min(1).max(100), 50, {
    de: 'fehlt oder ist leer: ein Token ohne Dienststelle sieht keine Dokumente; geben Sie mindestens eine an, z. B. ["BA-Musterstadt"]',
    en: 'is missing or empty: a token without a unit sees no documents; give at least one, e.g. ["BA-Musterstadt"]',
  }),
}) satisfies z.ZodType<ContractDevTokenRequest>;
export interface DevTokenRequest {
  sub: string;
  name?: string | undefined;
  roles: Role[];
  units: string[];
}

export interface DevIssuer extends Authenticator {
  issue(request: DevTokenRequest): Promise<{ access_token: string; token_type: 'Bearer'; expires_in: number }>;
}

/** Development only: the service is its own token issuer, so a newcomer can try everything. */
export async function createDevIssuer(dataDir: string): Promise<DevIssuer> {
  const { privateJwk, publicJwk } = await loadOrCreateKeyFile(path.join(dataDir, 'keys', 'dev-issuer.json'), async () => {
    const pair = await generateKeyPair(ALG, { extractable: true });
    return { privateJwk: await exportJWK(pair.privateKey), publicJwk: await exportJWK(pair.publicKey) };
  });
  const signingKey = await importJWK(privateJwk as JWK, ALG);
  const verifyKey = await importJWK(publicJwk as JWK, ALG);
  // Dev tokens carry our own claim names; the same verification path as OIDC checks them.
  const claims: ClaimPaths = { roles: 'roles', units: 'units', name: 'name' };
  return {
    async issue(request) {
      const token = await new SignJWT({ name: request.name ?? request.sub, roles: request.roles, units: request.units })
        .setProtectedHeader({ alg: ALG, typ: 'JWT' })
        .setSubject(request.sub)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${TOKEN_TTL_SECONDS}s`)
        .sign(signingKey);
      return { access_token: token, token_type: 'Bearer', expires_in: TOKEN_TTL_SECONDS };
    },
    authenticate(token) {
      return verifyWith(token, verifyKey as CryptoKey, {
        issuer: ISSUER,
        audience: AUDIENCE,
        rolesClaim: claims.roles,
        unitsClaim: claims.units,
        nameClaim: claims.name,
      });
    },
  };
}
