/**
 * Signed checkpoints of the audit chain (docs/audit.md): a compact JWS under the manifest key
 * stating "entry `seq` has hash `hash`", so entries deleted from the chain's end are detectable.
 */
import { compactVerify, createLocalJWKSet, importJWK, SignJWT, type JWK } from 'jose';
import { z } from 'zod';
import type { JwkSet } from '../keys/ingest-keys.ts';

/** A distinct type, so a checkpoint never passes as a manifest or a token. */
export const CHECKPOINT_TYPE = 'vs-audit-checkpoint+jwt';

export interface Checkpoint {
  seq: number;
  hash: string;
  /** ISO 8601: when it was signed. */
  at: string;
}

export type CheckpointSigner = (checkpoint: Checkpoint) => Promise<string>;

const claimsSchema = z.strictObject({ seq: z.number().int().positive(), hash: z.string().regex(/^[0-9a-f]{64}$/), at: z.iso.datetime() });

/** Signs with the manifest key (ES384 or PS256, as the manifest signer). */
export async function createCheckpointSigner(privateJwk: JWK, kid: string): Promise<CheckpointSigner> {
  const alg = privateJwk.kty === 'RSA' ? 'PS256' : 'ES384';
  const key = await importJWK(privateJwk, alg);
  return (checkpoint) => new SignJWT({ ...checkpoint }).setProtectedHeader({ alg, kid, typ: CHECKPOINT_TYPE }).sign(key);
}

/** The checkpoint a JWS states, if it is signed by a key of `jwks` and has the checkpoint's type; else undefined. */
export async function openCheckpoint(jws: string, jwks: JwkSet): Promise<Checkpoint | undefined> {
  try {
    const { payload, protectedHeader } = await compactVerify(jws, createLocalJWKSet(jwks as { keys: JWK[] }), { algorithms: ['ES384', 'PS256'] });
    if (protectedHeader.typ !== CHECKPOINT_TYPE) return undefined;
    const claims = claimsSchema.safeParse(JSON.parse(new TextDecoder().decode(payload)));
    return claims.success ? claims.data : undefined;
  } catch {
    return undefined;
  }
}
