import { AppError } from '../kernel/errors.ts';

export const ROLES = ['capture', 'read', 'export', 'review', 'audit', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** The authenticated caller, reduced to what authorization needs. */
export interface Principal {
  sub: string;
  name: string;
  roles: ReadonlySet<Role>;
  /** Dienststellen (units) whose documents this caller may see. */
  units: readonly string[];
}

/** Verifies a bearer token and returns the caller; throws AppError('unauthenticated'). */
export interface Authenticator {
  authenticate(token: string): Promise<Principal>;
}

export function requireRole(principal: Principal, role: Role): void {
  if (!principal.roles.has(role)) {
    throw new AppError('forbidden', {
      detail: { de: `Dafür brauchen Sie die Rolle '${role}'; bitten Sie Ihre Administration, sie Ihnen zu geben.`, en: `This action needs the role '${role}'; ask your administrator to grant it.` },
    });
  }
}

export function requireAnyRole(principal: Principal, roles: readonly Role[]): void {
  if (!roles.some((r) => principal.roles.has(r))) {
    throw new AppError('forbidden', {
      detail: { de: `Dafür brauchen Sie eine der Rollen ${roles.join(', ')}; bitten Sie Ihre Administration darum.`, en: `This action needs one of the roles ${roles.join(', ')}; ask your administrator.` },
    });
  }
}

export function canSeeUnit(principal: Principal, unit: string): boolean {
  return principal.units.includes(unit);
}

/** Reads a claim by dotted path, e.g. 'realm_access.roles'. */
export function claimAt(payload: Record<string, unknown>, dottedPath: string): unknown {
  let value: unknown = payload;
  for (const segment of dottedPath.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

export interface ClaimPaths {
  roles: string;
  units: string;
  name: string;
}

/** Builds a principal from verified claims; unknown roles are ignored, not errors. */
export function principalFromClaims(payload: Record<string, unknown>, paths: ClaimPaths): Principal {
  const sub = payload.sub;
  if (typeof sub !== 'string' || !sub) throw new AppError('unauthenticated', { detail: { de: "Das Token hat keinen 'sub'-Claim; melden Sie sich neu an.", en: "The token has no 'sub' claim; sign in again." } });
  const roles = stringList(claimAt(payload, paths.roles)).filter((r): r is Role => (ROLES as readonly string[]).includes(r));
  const name = claimAt(payload, paths.name);
  return {
    sub,
    name: typeof name === 'string' && name ? name : sub,
    roles: new Set(roles),
    units: stringList(claimAt(payload, paths.units)),
  };
}

function stringList(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
