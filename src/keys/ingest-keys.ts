/** The ingest key ring: private keys clients encrypt uploads to (JWE), and the public JWKS they fetch. */

import { createPrivateKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { loadOrCreateKeyFile } from './key-file.ts';

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

/** Where keys come from; the first one given wins. */
export interface IngestKeySource {
  /** A JWKS JSON with private keys, e.g. the content of an environment variable. */
  jwksJson?: string;
  /** A directory of `*.json` files, each a private JWK or a JWKS. */
  dir?: string;
  /** Development only: keys are generated once into `<dataDir>/keys/ingest.jwks.json`. */
  dataDir?: string;
}

const PUBLIC_MEMBERS = ['kty', 'kid', 'alg', 'use', 'crv', 'x', 'y', 'n', 'e'] as const;
const MIN_RSA_BITS = 3072;
const DEV_KEY_FILE = join('keys', 'ingest.jwks.json');

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

export async function loadIngestKeys(source: IngestKeySource): Promise<IngestKeyRing> {
  if (source.jwksJson !== undefined) return ringFromJwks(parseJson(source.jwksJson, 'ingest JWKS'), 'ingest JWKS');
  if (source.dir !== undefined) return loadIngestKeysFromDir(source.dir);
  if (source.dataDir !== undefined) return loadOrCreateIngestKeys(source.dataDir);
  throw new Error('no ingest keys configured: give a JWKS, a key directory, or (development) a data directory');
}

export async function loadIngestKeysFromDir(dir: string): Promise<IngestKeyRing> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
  const keys: IngestKey[] = [];
  for (const name of names) {
    const path = join(dir, name);
    keys.push(...keysFromJson(parseJson(await readFile(path, 'utf8'), path), path));
  }
  return new IngestKeyRing(keys);
}

/** Development: generates P-256, P-384 and RSA-3072 keys on first start and reloads the same ones afterwards. */
export async function loadOrCreateIngestKeys(dataDir: string): Promise<IngestKeyRing> {
  const path = join(dataDir, DEV_KEY_FILE);
  return ringFromJwks(await loadOrCreateKeyFile(path, async () => ({ keys: await generateIngestJwks() })), path);
}

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

function ringFromJwks(json: unknown, origin: string): IngestKeyRing {
  return new IngestKeyRing(keysFromJson(json, origin));
}

/** Accepts one private JWK or a JWKS of them. */
function keysFromJson(json: unknown, origin: string): IngestKey[] {
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

function parseJson(text: string, origin: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // No cause: V8's message quotes the text, which holds private keys.
    throw new Error(`${origin} is not valid JSON`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
