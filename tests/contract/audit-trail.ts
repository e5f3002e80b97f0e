/**
 * The audit trail's part of the metadata conformance suite, run on PGlite and PostgreSQL: one
 * gap-free chain from concurrent appends, entries that commit and roll back with their transaction,
 * document heads by index, paging within units, and signed checkpoints.
 */
import { exportJWK, generateKeyPair } from 'jose';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCheckpointSigner, openCheckpoint } from '../../src/audit/checkpoint.ts';
import type { AuditEvent, HashedEntry } from '../../src/audit/trail.ts';
import type { JwkSet } from '../../src/keys/ingest-keys.ts';
import type { SqlClient } from '../../src/metadata/sql.ts';
import { freshMetadataStore, type MetadataBackend, type TestMetadata } from '../../testkit/database.ts';

const EVERY = 5;

function eventOf(documentId: string, unit = 'BA-Nord', type: AuditEvent['type'] = 'page_viewed'): AuditEvent {
  return { type, documentId, unit, actor: { sub: 'u1' }, details: { page: 1 } };
}

export function describeAuditTrailContract(backend: MetadataBackend): void {
  describe(`audit trail contract on ${backend}`, () => {
    let t: TestMetadata;
    let db!: SqlClient;
    let jwks: JwkSet;

    beforeAll(async () => {
      const pair = await generateKeyPair('ES384', { extractable: true });
      const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES384', use: 'sig' };
      jwks = { keys: [publicJwk] } as JwkSet;
      const sign = await createCheckpointSigner(await exportJWK(pair.privateKey), 'k1');
      t = await freshMetadataStore(backend, { wrap: (inner) => (db = inner), checkpoints: { every: EVERY, sign } });
    });
    afterAll(() => t.store.close());

    const all = () => t.store.audit.page({ after: 0, limit: 10_000, units: ['BA-Nord', 'BA-Süd'] });

    it('appends concurrently into one gap-free chain; each entry names its predecessor and its document’s previous entry', async () => {
      const docs = [ulid(), ulid(), ulid()];
      const appended = await Promise.all(Array.from({ length: 12 }, (_, i) => t.store.audit.append(eventOf(docs[i % 3]!))));
      const entries = await all();
      expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: entries.length }, (_, i) => i + 1));
      expect(new Set(appended.map((e) => e.seq)).size).toBe(12);
      expect(entries[0]!.prev).toBeNull();
      for (let i = 1; i < entries.length; i++) expect(entries[i]!.prev).toBe(entries[i - 1]!.hash);
      for (const doc of docs) {
        const trail = await t.store.audit.documentTrail(doc);
        expect(trail).toHaveLength(4);
        expect(trail[0]!.prevDoc).toBeNull();
        for (let i = 1; i < trail.length; i++) expect(trail[i]!.prevDoc).toBe(trail[i - 1]!.hash);
      }
    });

    it('an entry appended in a transaction that rolls back leaves neither the entry nor a gap', async () => {
      const before = (await all()).at(-1)!;
      const doc = ulid();
      await expect(
        db.transaction(async (tx) => {
          await t.store.audit.appendIn(tx, eventOf(doc));
          throw new Error('the change failed');
        }),
      ).rejects.toThrow('the change failed');
      expect(await t.store.audit.documentTrail(doc)).toEqual([]);
      const next = await t.store.audit.append(eventOf(doc));
      expect(next).toMatchObject({ seq: before.seq + 1, prev: before.hash, prevDoc: null });
    });

    it('commits a document with its captured entry; a decision that does not apply writes none', async () => {
      const id = ulid();
      const doc = { id, unit: 'BA-Nord', createdAt: new Date().toISOString(), reviewStatus: 'pending' as const, pageCount: 1, sizeBytes: 1, body: Buffer.from('{}'), search: { title: 'x' } };
      await t.store.commitDocument(doc, undefined, undefined, eventOf(id, 'BA-Nord', 'captured'));
      expect(await t.store.decideReview(id, 'approved', (b) => b, eventOf(id, 'BA-Nord', 'reviewed'))).toBe(true);
      expect(await t.store.decideReview(id, 'rejected', (b) => b, eventOf(id, 'BA-Nord', 'reviewed'))).toBe(false);
      expect(await t.store.deleteDocument(id, new Date().toISOString(), undefined, eventOf(id, 'BA-Nord', 'deleted'))).toEqual({});
      expect(await t.store.deleteDocument(id, new Date().toISOString(), undefined, eventOf(id, 'BA-Nord', 'deleted'))).toBeUndefined();
      expect((await t.store.audit.documentTrail(id)).map((e) => e.type)).toEqual(['captured', 'reviewed', 'deleted']);
    });

    it('pages only the caller’s units; a cursor position exists only for an entry of them', async () => {
      const south = await t.store.audit.append(eventOf(ulid(), 'BA-Süd'));
      const north = await t.store.audit.append(eventOf(ulid(), 'BA-Nord'));
      const page = await t.store.audit.page({ after: 0, limit: 10_000, units: ['BA-Süd'] });
      expect(page.map((e: HashedEntry) => e.unit)).toEqual(page.map(() => 'BA-Süd'));
      expect(page.at(-1)!.id).toBe(south.id);
      expect(await t.store.audit.positionOf(south.id, ['BA-Süd'])).toBe(south.seq);
      expect(await t.store.audit.positionOf(north.id, ['BA-Süd'])).toBeUndefined();
    });

    it('signs a checkpoint at every multiple of the interval in the appending transaction, and the newest entry on request once', async () => {
      const { counterSeq } = await t.store.audit.extent();
      const stored = await t.store.audit.checkpointsIn(0, counterSeq);
      expect(stored.map((c) => c.seq)).toEqual(Array.from({ length: Math.floor(counterSeq / EVERY) }, (_, i) => (i + 1) * EVERY));
      const [row] = await t.store.audit.rows(EVERY - 1, EVERY);
      expect(await openCheckpoint(stored[0]!.jws, jwks)).toMatchObject({ seq: EVERY, hash: row!.hash });
      const head = (await all()).at(-1)!;
      const made = counterSeq % EVERY === 0 ? undefined : await t.store.audit.checkpoint();
      if (made) expect(made).toMatchObject({ seq: head.seq, hash: head.hash });
      expect(await t.store.audit.checkpoint()).toBeUndefined();
      expect((await t.store.audit.checkpointsBefore(undefined, 1))[0]!.seq).toBe(head.seq);
    });
  });
}
