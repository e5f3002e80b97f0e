/** The ingest key ring: private keys clients encrypt uploads to (JWE), and the public JWKS they fetch. */

import { createPrivateKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import type { KeyKind } from './key-source.ts';

/** Key management algorithms BSI TR-02102 lets us accept (DOMAIN.md, Cryptography). */
export type IngestAlg = 'ECDH-ES+A256KW' | 'RSA-OAEP-256';
export type IngestCurve = 'P-256' | 'P-384';

/** A public JWK as published; only these members ever leave the ring. */
export interface PublicJwk {
  kty: 'EC' | 'RSA';
  kid: string;
  alg: string;
  use: 'enc' | 'sig';
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
}

export interface JwkSet {
  keys: PublicJwk[];
}

export interface IngestKey {
  kid: string;
  alg: IngestAlg;
  /** Set for EC keys: the curve an `epk` must be on. */
  crv: IngestCurve | undefined;
  privateKey: KeyObject;
  publicJwk: PublicJwk;
}

const PUBLIC_MEMBERS = ['kty', 'kid', 'alg', 'use', 'crv', 'x', 'y', 'n', 'e'] as const;
const MIN_RSA_BITS = 3072;

export class IngestKeyRing {
  readonly #keys: ReadonlyMap<string, IngestKey>;

  constructor(keys: IngestKey[]) {
    if (keys.length === 0) throw new Error('ingest key ring is empty: configure at least one key');
    const byKid = new Map<string, IngestKey>();
    for (const key of keys) {
      if (byKid.has(key.kid)) throw new Error(`ingest key kid '${key.kid}' appears twice`);
      byKid.set(key.kid, key);
    }
    this.#keys = byKid;
  }

  get(kid: string): IngestKey | undefined {
    return this.#keys.get(kid);
  }

  get kids(): string[] {
    return [...this.#keys.keys()];
  }

  /** What `GET /v1/keys` serves: every active key (old ones too, so clients with a cached JWKS keep working). */
  publicJwks(): JwkSet {
    return { keys: [...this.#keys.values()].map((key) => ({ ...key.publicJwk })) };
  }
}

/** Merges key sets (e.g. ingest keys and a manifest signing key) into one JWKS; kids must stay unique. */
export function composeJwks(...sets: JwkSet[]): JwkSet {
  const keys = sets.flatMap((set) => set.keys);
  const seen = new Set<string>();
  for (const { kid } of keys) {
    if (seen.has(kid)) throw new Error(`JWKS kid '${kid}' appears in more than one key set`);
    seen.add(kid);
  }
  return { keys };
}

/** INGEST_KEYS (a JWKS), INGEST_KEYS_DIR (files of JWKs or JWKS), or in development P-256, P-384 and RSA-3072 keys generated once. */
export const INGEST_KEYS: KeyKind<IngestKeyRing> = {
  variable: 'INGEST_KEYS',
  other: { dir: 'INGEST_KEYS_DIR' },
  label: 'ingest JWKS',
  devFile: 'ingest.jwks.json',
  parse: (parts) => new IngestKeyRing(parts.flatMap(({ value, origin }) => keysFromJson(value, origin))),
  generate: async () => ({ keys: await generateIngestJwks() }),
};

/** Fresh private JWKs for every ingest algorithm and curve, kid = RFC 7638 thumbprint. */
export async function generateIngestJwks(): Promise<JsonWebKey[]> {
  const specs = [
    { alg: 'ECDH-ES+A256KW', options: { crv: 'P-256' } },
    { alg: 'ECDH-ES+A256KW', options: { crv: 'P-384' } },
    { alg: 'RSA-OAEP-256', options: { modulusLength: MIN_RSA_BITS } },
  ] as const;
  return Promise.all(
    specs.map(async ({ alg, options }) => {
      const { privateKey } = await generateKeyPair(alg, { ...options, extractable: true });
      const jwk = await exportJWK(privateKey);
      return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg, use: 'enc' };
    }),
  );
}

/** Accepts one private JWK or a JWKS of them. */
function keysFromJson(json: unknown, origin: string): IngestKey[] {
  // undefined: the loader found no JSON (and keeps JSON.parse's error, which quotes the keys, to itself).
  if (json === undefined) throw new Error(`${origin} is not valid JSON`);
  if (isRecord(json) && Array.isArray(json.keys)) return json.keys.map((jwk) => ingestKey(jwk, origin));
  return [ingestKey(json, origin)];
}

function ingestKey(jwk: unknown, origin: string): IngestKey {
  if (!isRecord(jwk)) throw new Error(`${origin}: a key is not a JSON object`);
  const { kid, alg, use, kty, crv, d } = jwk;
  const where = `${origin}: key '${String(kid)}'`;
  if (typeof kid !== 'string' || kid === '') throw new Error(`${origin}: every key needs a kid`);
  if (use !== 'enc') throw new Error(`${where} must have use 'enc'`);
  if (typeof d !== 'string') throw new Error(`${where} is not a private key (no 'd')`);
  const privateKey = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
  if (alg === 'ECDH-ES+A256KW' && kty === 'EC' && (crv === 'P-256' || crv === 'P-384')) {
    return { kid, alg, crv, privateKey, publicJwk: publicPart(jwk) };
  }
  if (alg === 'RSA-OAEP-256' && kty === 'RSA') {
    const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) throw new Error(`${where} has ${bits} bits; RSA needs at least ${MIN_RSA_BITS}`);
    return { kid, alg, crv: undefined, privateKey, publicJwk: publicPart(jwk) };
  }
  throw new Error(
    `${where}: ${String(kty)}/${String(crv ?? '-')} with alg '${String(alg)}' is not allowed; ` +
      `use EC P-256/P-384 with ECDH-ES+A256KW or RSA with RSA-OAEP-256`,
  );
}

/** Copies only the public members by name, so no private member (d, p, q, dp, dq, qi, oth) can slip through. */
function publicPart(jwk: Record<string, unknown>): PublicJwk {
  const picked = PUBLIC_MEMBERS.filter((name) => jwk[name] !== undefined).map((name) => [name, jwk[name]]);
  return Object.fromEntries(picked) as PublicJwk;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
