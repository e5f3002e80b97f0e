/**
 * View tickets: short-lived ES256 JWTs bound to one reader and one document. Self-contained, so any
 * instance holding the key verifies them without shared state.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, errors as joseErrors, exportJWK, generateKeyPair, importJWK, jwtVerify, type JWK } from 'jose';
import { z } from 'zod';
import { AppError } from '../kernel/errors.ts';
import { withFileForm } from '../keys/key-source.ts';

const ALG = 'ES256';
const ISSUER = 'urn:vs-capture:view';
const AUDIENCE = 'urn:vs-capture:viewer';
/** A distinct type, so no other JWT signed with a shared key can pass as a ticket. */
const TYPE = 'vs-view+jwt';

export interface Reader {
  sub: string;
  name: string;
}

/** What a verified ticket grants: this reader may view this document until `expiresAt`. */
export interface TicketGrant {
  ticketId: string;
  reader: Reader;
  documentId: string;
  expiresAt: Date;
}

/** A reading session renews its ticket at most this long after the first one was issued. */
export const MAX_VIEW_SESSION_MS = 8 * 3600_000;

export interface ViewTickets {
  issue(reader: Reader, documentId: string): Promise<{ ticket: string; grant: TicketGrant }>;
  /**
   * A fresh ticket for a still valid one: same reader, document and ticket id (so the audit trail's page
   * views stay linked), within MAX_VIEW_SESSION_MS of the session's first ticket.
   */
  renew(ticket: string, documentId: string): Promise<{ ticket: string; grant: TicketGrant }>;
  /** Throws ticket_invalid, ticket_expired or ticket_wrong_document. */
  verify(ticket: string, documentId: string): Promise<TicketGrant>;
}

const claimsSchema = z.object({
  jti: z.string().min(1),
  sub: z.string().min(1),
  name: z.string().min(1),
  doc: z.string().min(1),
  exp: z.number(),
  iat: z.number(),
  /** When the session's first ticket was issued (seconds); tickets issued before renewal existed lack it. */
  ses: z.number().optional(),
});

/** Signs and verifies tickets with one P-256 key; `now` is injectable for expiry tests. */
export async function createViewTickets(
  privateJwk: JWK,
  ttlMs: number,
  now: () => number = Date.now,
): Promise<ViewTickets> {
  const signingKey = await importJWK(privateJwk, ALG);
  const { d: _private, ...publicJwk } = privateJwk;
  const verifyKey = await importJWK(publicJwk, ALG);
  const sign = async (grant: TicketGrant, sessionStart: number) => {
    const ticket = await new SignJWT({ name: grant.reader.name, doc: grant.documentId, ses: sessionStart })
      .setProtectedHeader({ alg: ALG, typ: TYPE })
      .setJti(grant.ticketId)
      .setSubject(grant.reader.sub)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(Math.floor(now() / 1000))
      .setExpirationTime(grant.expiresAt.getTime() / 1000)
      .sign(signingKey);
    return { ticket, grant };
  };
  /** The ticket's claims, checked against the document it is used for. */
  const verified = async (ticket: string, documentId: string) => {
    const claims = await verifyClaims(ticket, verifyKey, now);
    if (claims.doc !== documentId) {
      throw new AppError('ticket_wrong_document', {
        detail: { de: 'Dieses Ansichtsticket gehört zu einem anderen Dokument; öffnen Sie das Dokument über seinen eigenen Link.', en: 'This view ticket belongs to another document; open the document through its own link.' },
      });
    }
    const grant: TicketGrant = { ticketId: claims.jti, reader: { sub: claims.sub, name: claims.name }, documentId: claims.doc, expiresAt: new Date(claims.exp * 1000) };
    return { claims, grant };
  };
  // Whole seconds, as the `exp` claim carries them.
  const wholeSeconds = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
  return {
    issue(reader, documentId) {
      return sign({ ticketId: randomUUID(), reader, documentId, expiresAt: wholeSeconds(now() + ttlMs) }, Math.floor(now() / 1000));
    },
    async renew(ticket, documentId) {
      const { claims, grant } = await verified(ticket, documentId);
      const sessionStart = claims.ses ?? claims.iat;
      const sessionEnd = sessionStart * 1000 + MAX_VIEW_SESSION_MS;
      if (now() >= sessionEnd) {
        throw new AppError('ticket_expired', {
          detail: { de: 'Die Lesesitzung ist zu Ende; öffnen Sie das Dokument erneut.', en: 'The reading session has ended; open the document again.' },
        });
      }
      return sign({ ...grant, expiresAt: wholeSeconds(Math.min(now() + ttlMs, sessionEnd)) }, sessionStart);
    },
    async verify(ticket, documentId) {
      return (await verified(ticket, documentId)).grant;
    },
  };
}

async function verifyClaims(ticket: string, key: CryptoKey | Uint8Array, now: () => number) {
  try {
    const { payload } = await jwtVerify(ticket, key, {
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: TYPE,
      algorithms: [ALG],
      currentDate: new Date(now()),
    });
    return claimsSchema.parse(payload);
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) {
      throw new AppError('ticket_expired', {
        detail: { de: 'Das Ansichtsticket ist abgelaufen; öffnen Sie das Dokument erneut, um ein neues zu erhalten.', en: 'The view ticket has expired; open the document again to get a new one.' },
        cause: err,
      });
    }
    throw new AppError('ticket_invalid', {
      detail: { de: 'Das Ansichtsticket ist ungültig; öffnen Sie das Dokument erneut, um ein neues zu erhalten.', en: 'The view ticket is not valid; open the document again to get a new one.' },
      cause: err,
    });
  }
}

/** The signing key for loadKey: VIEW_TICKET_KEY(_FILE), or outside production generated once into the data directory. */
export const VIEW_TICKET_KEY = withFileForm({
  variable: 'VIEW_TICKET_KEY',
  devFile: 'view-tickets.json',
  parse: parsePrivateJwk,
  generate: async () => exportJWK((await generateKeyPair(ALG, { extractable: true })).privateKey),
});

const privateJwkSchema = z.object({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string(), y: z.string(), d: z.string() });

function parsePrivateJwk(raw: unknown, variable: string): JWK {
  const parsed = privateJwkSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${variable} must be a private EC P-256 JWK (kty, crv, x, y, d)`);
  return parsed.data;
}
