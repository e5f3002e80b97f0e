import type { Request, RequestHandler } from 'express';
import { AppError } from '../../kernel/errors.ts';
import type { Authenticator, Principal } from '../../auth/principal.ts';

const principals = new WeakMap<Request, Principal>();

/** Requires `Authorization: Bearer <jwt>` and attaches the verified principal to the request. */
export function bearerAuth(authenticator: Authenticator): RequestHandler {
  return async (req, res, next) => {
    try {
      const header = req.headers.authorization;
      const match = header ? /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header) : null;
      if (!match) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="vs-capture"');
        throw new AppError('unauthenticated', {
          detail: { de: 'Senden Sie ein Zugangstoken als "Authorization: Bearer <token>".', en: 'Send an access token as "Authorization: Bearer <token>".' },
        });
      }
      principals.set(req, await authenticator.authenticate(match[1]!));
      next();
    } catch (err) {
      next(err);
    }
  };
}

/** The principal bearerAuth attached; routes behind it can rely on it. */
export function principalOf(req: Request): Principal {
  const principal = principalIfAny(req);
  if (!principal) throw new AppError('unauthenticated', { detail: { de: 'Anmeldung erforderlich: senden Sie ein Zugangstoken.', en: 'Authentication required: send an access token.' } });
  return principal;
}

/** The principal when bearerAuth ran for this request (routes outside /v1 have none). */
export function principalIfAny(req: Request): Principal | undefined {
  return principals.get(req);
}
