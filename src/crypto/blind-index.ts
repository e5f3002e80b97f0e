/**
 * Blind indexes (docs/metadata-store.md): HMAC-SHA-256 of a normalized value under a search key, so
 * the database can answer "equal to" without holding the value. Keys come as a ring like the storage
 * keys: the newest writes, every one is asked, so a key can be rotated while old rows stay findable.
 */
import { createHmac } from 'node:crypto';
import type { KekRing } from '../keys/kek-ring.ts';

/** What a token indexes; part of the HMAC input, so a title word never matches a case number. */
export type IndexPurpose = 'case' | 'word';

export class BlindIndex {
  constructor(private readonly ring: Pick<KekRing, 'active' | 'ids' | 'find'>) {}

  get activeKeyId(): string {
    return this.ring.active.id;
  }

  /** The token written now, under the active key. */
  token(purpose: IndexPurpose, normalized: string): string {
    return hmac(this.ring.active.key, purpose, normalized);
  }

  /** The tokens a query looks for: one per key, so rows written under an older key are found too. */
  tokens(purpose: IndexPurpose, normalized: string): string[] {
    return this.ring.ids.map((id) => hmac(this.ring.find(id)!.key, purpose, normalized));
  }
}

function hmac(key: Buffer, purpose: IndexPurpose, value: string): string {
  return createHmac('sha256', key).update(`${purpose}\0${value}`).digest('base64url');
}

/** Case numbers match however they were typed: compatibility forms folded, case ignored, spaces collapsed. */
export function normalizeCaseNumber(value: string): string {
  return value.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim();
}

/** The distinct words of a title (letters and digits, at least 2 characters), normalized like case numbers. */
export function indexWords(value: string): string[] {
  const words = value.normalize('NFKC').toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w.length >= 2);
  return [...new Set(words)];
}
