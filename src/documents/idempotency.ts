import { createHash } from 'node:crypto';
import { AppError } from '../kernel/errors.ts';
import type { MetadataStore } from '../metadata/metadata-store.ts';

export type Claim = { kind: 'replay'; documentId: string } | { kind: 'claimed'; keyHash: string; release(): Promise<void> };

const KEY_PATTERN = /^[\x21-\x7E]{1,255}$/;

/**
 * Idempotency keys, scoped per user, claimed in the metadata database: its primary key decides
 * between racing requests on any instance. The claim is marked done inside the document's commit
 * transaction, so a retry after a lost answer or a crash finds the committed document. A pending
 * claim older than `leaseMs` belongs to a crashed request and may be taken over.
 */
export class IdempotencyKeys {
  constructor(
    private readonly store: Pick<MetadataStore, 'claim' | 'releaseClaim' | 'deleteExpiredClaims'>,
    private readonly ttlMs: number,
    private readonly leaseMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Claims `key` for a request that will create `documentId`, or says which document an identical earlier request created. */
  async claim(sub: string, key: string, fingerprint: string, documentId: string): Promise<Claim> {
    if (!KEY_PATTERN.test(key)) {
      throw new AppError('bad_request', {
        detail: { de: 'Der Idempotency-Key muss aus 1–255 sichtbaren ASCII-Zeichen bestehen, z. B. eine UUID.', en: 'Idempotency-Key must be 1-255 visible ASCII characters, e.g. a UUID.' },
      });
    }
    const keyHash = createHash('sha256').update(`${sub}\n${key}`).digest('hex');
    const decision = await this.store.claim({ keyHash, fingerprint, documentId, now: this.now(), ttlMs: this.ttlMs, leaseMs: this.leaseMs });
    switch (decision.kind) {
      case 'replay':
        return decision;
      case 'conflict':
        throw new AppError('idempotency_conflict', {
          detail: {
            de: 'Dieser Idempotency-Key wurde für eine andere Anfrage verwendet. Nehmen Sie für ein neues Dokument einen neuen Schlüssel.',
            en: 'This Idempotency-Key was used for a different request. Use a new key for a new document.',
          },
        });
      case 'in_progress':
        throw inProgress();
      case 'claimed':
        // The lease ends at once, but the entry stays: a retry still finds the document if it did commit.
        return { kind: 'claimed', keyHash, release: () => this.store.releaseClaim(keyHash, documentId, this.now()) };
    }
  }

  /** Removes expired entries; run periodically. Returns how many were removed. */
  sweepExpired(): Promise<number> {
    return this.store.deleteExpiredClaims(this.now());
  }
}

export function inProgress(): AppError {
  return new AppError('idempotency_in_progress', {
    detail: { de: 'Die erste Anfrage mit diesem Schlüssel wird noch verarbeitet; versuchen Sie es gleich erneut.', en: 'The first request with this key is still being processed; retry shortly.' },
  });
}
