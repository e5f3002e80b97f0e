import { createHash, randomUUID } from 'node:crypto';
import { AppError } from './errors.ts';
import { ObjectNotFoundError, type ObjectStore } from './storage/object-store.ts';
import { layout } from './storage/layout.ts';

interface IdempotencyEntry {
  fingerprint: string;
  state: 'pending' | 'done';
  claimToken: string;
  /** The id the claiming request creates its document under; a retry finds it by this. */
  documentId: string;
  claimedAt: number;
  expiresAt: number;
}

export type Claim =
  | { kind: 'replay'; documentId: string }
  | { kind: 'claimed'; complete(): Promise<void>; release(): Promise<void> };

const KEY_PATTERN = /^[\x21-\x7E]{1,255}$/;

/**
 * Idempotency keys, scoped per user, kept in the shared object store so any instance
 * answers a retry. A pending claim older than `leaseMs` belongs to a crashed request and may be taken over.
 */
export class IdempotencyKeys {
  constructor(
    private readonly store: ObjectStore,
    private readonly ttlMs: number,
    private readonly leaseMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Claims `key` for a request that will create `documentId`, or says which document an identical
   * earlier request created — also when that request committed but never got to say so.
   */
  async claim(sub: string, key: string, fingerprint: string, documentId: string, committed: (id: string) => Promise<boolean>): Promise<Claim> {
    if (!KEY_PATTERN.test(key)) {
      throw new AppError('bad_request', {
        detail: { de: 'Der Idempotency-Key muss aus 1–255 sichtbaren ASCII-Zeichen bestehen, z. B. eine UUID.', en: 'Idempotency-Key must be 1-255 visible ASCII characters, e.g. a UUID.' },
      });
    }
    const storeKey = layout.idempotency(createHash('sha256').update(`${sub}\n${key}`).digest('hex'));
    const existing = await this.read(storeKey);
    if (existing && existing.expiresAt > this.now()) {
      if (existing.fingerprint !== fingerprint) {
        throw new AppError('idempotency_conflict', {
          detail: {
            de: 'Dieser Idempotency-Key wurde für eine andere Anfrage verwendet. Nehmen Sie für ein neues Dokument einen neuen Schlüssel.',
            en: 'This Idempotency-Key was used for a different request. Use a new key for a new document.',
          },
        });
      }
      if (existing.state === 'done' || (await committed(existing.documentId))) return { kind: 'replay', documentId: existing.documentId };
      if (this.now() - existing.claimedAt < this.leaseMs) {
        throw new AppError('idempotency_in_progress', {
          detail: { de: 'Die erste Anfrage mit diesem Schlüssel wird noch verarbeitet; versuchen Sie es gleich erneut.', en: 'The first request with this key is still being processed; retry shortly.' },
        });
      }
    }
    return this.take(storeKey, fingerprint, documentId);
  }

  private async take(storeKey: string, fingerprint: string, documentId: string): Promise<Claim> {
    const claimToken = randomUUID();
    const entry: IdempotencyEntry = {
      fingerprint,
      state: 'pending',
      claimToken,
      documentId,
      claimedAt: this.now(),
      expiresAt: this.now() + this.ttlMs,
    };
    await this.write(storeKey, entry);
    // Read back: of two instances racing for one key, only the last writer goes on.
    if ((await this.read(storeKey))?.claimToken !== claimToken) {
      throw new AppError('idempotency_in_progress', {
        detail: { de: 'Eine andere Anfrage mit diesem Schlüssel wird gerade verarbeitet; versuchen Sie es gleich erneut.', en: 'Another request with this key is being processed; retry shortly.' },
      });
    }
    return {
      kind: 'claimed',
      complete: () => this.write(storeKey, { ...entry, state: 'done' }),
      // The lease ends at once, but the entry stays: a retry still finds the document if it did commit.
      release: () => this.write(storeKey, { ...entry, claimedAt: 0 }),
    };
  }

  /** Removes expired entries; run periodically. Returns how many were removed. */
  async sweepExpired(): Promise<number> {
    let removed = 0;
    let startAfter: string | undefined;
    for (;;) {
      const page = await this.store.list({ prefix: layout.idempotency(''), startAfter, limit: 500 });
      for (const { key } of page) {
        const entry = await this.read(key);
        if (entry && entry.expiresAt <= this.now()) {
          await this.store.delete(key);
          removed++;
        }
      }
      if (page.length < 500) return removed;
      startAfter = page[page.length - 1]!.key;
    }
  }

  private async read(storeKey: string): Promise<IdempotencyEntry | undefined> {
    try {
      return JSON.parse((await this.store.getBuffer(storeKey)).toString('utf8')) as IdempotencyEntry;
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return undefined;
      throw err;
    }
  }

  private write(storeKey: string, entry: IdempotencyEntry): Promise<void> {
    return this.store.put(storeKey, Buffer.from(JSON.stringify(entry)));
  }
}
