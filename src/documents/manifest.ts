/**
 * Signed integrity evidence (BSI TR-03138): a JWS over a document's hashes, classification and
 * transfer note, verifiable by any JOSE implementation with the key published in GET /v1/keys.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { z } from 'zod';
import { withFileForm } from '../keys/key-source.ts';
import type { JwkSet, PublicJwk } from '../keys/ingest-keys.ts';
import type { DocumentRecord } from './records.ts';

/** A distinct type, so a manifest can never pass as a view ticket or an access token. */
export const MANIFEST_TYPE = 'vs-manifest+jwt';
const ISSUER = 'urn:vs-capture';
const MIN_RSA_BITS = 3072;

export interface ManifestSigner {
  kid: string;
  alg: 'ES384' | 'PS256';
  /** Compact JWS over the record's evidence; `iat` is the signing time. */
  sign(record: DocumentRecord): Promise<string>;
  publicJwks(): JwkSet;
}

/** The signed claims: what an archive needs to prove the scan and its transfer note are unchanged. */
export function manifestClaims(record: DocumentRecord) {
  return {
    documentId: record.id,
    unit: record.unit,
    title: record.title,
    ...(record.caseNumber !== undefined ? { caseNumber: record.caseNumber } : {}),
    classification: record.classification,
    issuingOffice: record.issuingOffice,
    createdAt: record.createdAt,
    pageCount: record.pageCount,
    rendition: record.rendition,
    originals: record.originals.map(({ part, mediaType, size, sha256 }) => ({ part, mediaType, size, sha256 })),
    transferNote: record.transferNote,
  };
}

export async function createManifestSigner(privateJwk: JWK, now: () => number = Date.now): Promise<ManifestSigner> {
  const alg = privateJwk.kty === 'RSA' ? 'PS256' : 'ES384';
  const key = await importJWK(privateJwk, alg);
  const { kty, crv, x, y, n, e } = privateJwk;
  const publicMembers = Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined));
  const kid = await calculateJwkThumbprint(publicMembers as JWK);
  const publicJwk = { ...publicMembers, kid, alg, use: 'sig' } as PublicJwk;
  return {
    kid,
    alg,
    sign: (record) =>
      new SignJWT(manifestClaims(record))
        .setProtectedHeader({ alg, kid, typ: MANIFEST_TYPE })
        .setIssuer(ISSUER)
        .setSubject(record.id)
        .setIssuedAt(Math.floor(now() / 1000))
        .sign(key),
    publicJwks: () => ({ keys: [{ ...publicJwk }] }),
  };
}

/** The signing key for loadKey: MANIFEST_SIGNING_KEY(_FILE), or outside production generated once into the data directory. */
export const MANIFEST_KEY = withFileForm({
  variable: 'MANIFEST_SIGNING_KEY',
  devFile: 'manifest-signing.json',
  parse: parsePrivateJwk,
  generate: async () => exportJWK((await generateKeyPair('ES384', { extractable: true })).privateKey),
});

const privateJwkSchema = z.union([
  z.object({ kty: z.literal('EC'), crv: z.literal('P-384'), x: z.string(), y: z.string(), d: z.string() }),
  z.object({ kty: z.literal('RSA'), n: z.string(), e: z.string(), d: z.string(), p: z.string(), q: z.string(), dp: z.string(), dq: z.string(), qi: z.string() }),
]);

function parsePrivateJwk(raw: unknown, variable: string): JWK {
  const parsed = privateJwkSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${variable} must be a private EC P-384 JWK (ES384) or RSA JWK of at least ${MIN_RSA_BITS} bits (PS256)`);
  if (parsed.data.kty === 'RSA' && Buffer.from(parsed.data.n, 'base64url').byteLength * 8 < MIN_RSA_BITS) {
    throw new Error(`${variable}: RSA keys need at least ${MIN_RSA_BITS} bits (BSI TR-02102-1)`);
  }
  return parsed.data;
}
