/**
 * The conformance suite every metadata backend passes (PGlite and PostgreSQL): transactions,
 * concurrent claims, feed order, search, sealing. Run by pglite-metadata.test.ts and
 * postgres-metadata.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ulid } from 'ulid';
import { encryptObject, IntegrityError } from '../../src/crypto/at-rest.ts';
import { BlindIndex } from '../../src/crypto/blind-index.ts';
import { generateKek, KekRing } from '../../src/keys/kek-ring.ts';
import { migrate, shippedMigrations } from '../../src/metadata/migrations.ts';
import { openMetadataStore } from '../../src/metadata/open.ts';
import { ClaimLostError, MetadataStore, type NewDocument } from '../../src/metadata/metadata-store.ts';
import { freshMetadataStore, freshSqlClient, type MetadataBackend, type TestMetadata } from '../../testkit/database.ts';

const T0 = Date.parse('2026-03-02T09:00:00Z');

function newDocument(overrides: Partial<NewDocument> & { title?: string; caseNumber?: string } = {}): NewDocument {
  const { title = 'Anhörungsbogen', caseNumber, ...rest } = overrides;
  const id = rest.id ?? ulid();
  return {
    id,
    unit: 'BA-Nord',
    createdAt: new Date(T0).toISOString(),
    reviewStatus: 'pending',
    pageCount: 1,
    sizeBytes: 100,
    body: Buffer.from(JSON.stringify({ id, title, caseNumber })),
    search: { title, ...(caseNumber ? { caseNumber } : {}) },
    ...rest,
  };
}

function claimOf(store: MetadataStore, keyHash: string, documentId: string, now = T0, fingerprint = 'fp') {
  return store.claim({ keyHash, fingerprint, documentId, now, ttlMs: 3_600_000, leaseMs: 60_000 });
}

export function describeMetadataStoreContract(backend: MetadataBackend): void {
  describe(`MetadataStore contract on ${backend}`, () => {
    let t: TestMetadata;
    beforeAll(async () => {
      t = await freshMetadataStore(backend);
    });
    afterAll(() => t.store.close());

    it('migrates once: a second run applies nothing, and a schema newer than the code is refused', async () => {
      const db = await freshSqlClient(backend);
      try {
        const shipped = await shippedMigrations();
        expect(await migrate(db)).toEqual(shipped.map((m) => m.version));
        expect(await migrate(db)).toEqual([]);
        await expect(migrate(db, shipped.slice(0, -1))).rejects.toThrow(/newer than this service knows/);
      } finally {
        await db.close();
      }
    });

    it('commits a document and reads it back; a missing one is undefined', async () => {
      const doc = newDocument({ title: 'Bescheid' });
      const stored = await t.store.commitDocument(doc);
      expect(await t.store.document(doc.id)).toEqual({ ...stored, body: doc.body });
      expect(await t.store.isCommitted(doc.id)).toBe(true);
      expect(await t.store.document(ulid())).toBeUndefined();
      expect([...(await t.store.committedAmong([doc.id, ulid()]))]).toEqual([doc.id]);
    });

    it('gives concurrent commits consecutive feed positions, visible in order to a poller that runs meanwhile', async () => {
      const unit = `U-${ulid()}`;
      const docs = Array.from({ length: 30 }, () => newDocument({ unit }));
      const seen: string[] = [];
      let after = 0;
      let done = false;
      const poller = (async () => {
        for (;;) {
          const finished = done;
          const page = await t.store.query({ after, limit: 7, units: [unit] });
          seen.push(...page.map((d) => d.id));
          after = page.at(-1)?.seq ?? after;
          if (finished && page.length === 0) return;
        }
      })();
      const stored = await Promise.all(docs.map((d) => t.store.commitDocument(d)));
      done = true;
      await poller;
      const seqs = stored.map((s) => s.seq).sort((a, b) => a - b);
      expect(seqs.at(-1)! - seqs[0]! + 1).toBe(docs.length);
      expect(seen).toHaveLength(docs.length);
      expect(new Set(seen)).toEqual(new Set(docs.map((d) => d.id)));
      const order = new Map(stored.map((s) => [s.id, s.seq]));
      expect(seen.map((id) => order.get(id))).toEqual(seqs);
    });

    it('never returns another unit’s document, whatever the filter', async () => {
      const own = newDocument({ unit: 'BA-Süd', caseNumber: 'AZ 7/26', title: 'Gemeinsam' });
      const other = newDocument({ unit: 'BA-West', caseNumber: 'AZ 7/26', title: 'Gemeinsam' });
      await t.store.commitDocument(own);
      await t.store.commitDocument(other);
      const ids = (await t.store.query({ after: 0, limit: 500, units: ['BA-Süd'], caseNumber: 'AZ 7/26' })).map((d) => d.id);
      expect(ids).toEqual([own.id]);
      expect(await t.store.query({ after: 0, limit: 500, units: ['BA-Süd'], unit: 'BA-West' })).toEqual([]);
    });

    it('finds by normalized case number, title words, status and capture time', async () => {
      const unit = `U-${ulid()}`;
      const a = newDocument({ unit, caseNumber: 'AZ 12-345/26', title: 'Widerspruch gegen Bescheid', createdAt: '2026-03-01T10:00:00.000Z' });
      const b = newDocument({ unit, caseNumber: 'AZ 99/26', title: 'Bescheid über Gebühren', createdAt: '2026-03-05T10:00:00.000Z' });
      await t.store.commitDocument(a);
      await t.store.commitDocument(b);
      const find = async (q: Record<string, string>) => (await t.store.query({ after: 0, limit: 100, units: [unit], ...q })).map((d) => d.id);
      expect(await find({ caseNumber: ' az  12-345/26 ' })).toEqual([a.id]);
      expect(await find({ caseNumber: 'AZ 12-345' })).toEqual([]);
      expect(await find({ words: 'bescheid' })).toEqual([a.id, b.id]);
      expect(await find({ words: 'BESCHEID widerspruch' })).toEqual([a.id]);
      expect(await find({ words: 'gebühren' })).toEqual([b.id]);
      expect(await find({ capturedFrom: '2026-03-02T00:00:00Z' })).toEqual([b.id]);
      expect(await find({ capturedTo: '2026-03-02T00:00:00Z' })).toEqual([a.id]);
      await t.store.decideReview(b.id, 'approved', () => b.body);
      expect(await find({ status: 'approved' })).toEqual([b.id]);
    });

    it('lists newest first and pages backwards from a cursor, filters applied, none repeated or skipped; a later commit is not on later pages', async () => {
      const unit = `U-${ulid()}`;
      const stored = [];
      for (let i = 0; i < 7; i++) stored.push(await t.store.commitDocument(newDocument({ unit, title: i % 2 ? 'Antrag ungerade' : 'Antrag gerade' })));
      await t.store.commitDocument(newDocument({ unit: `U-${ulid()}`, title: 'Antrag ungerade' }));
      const newestFirst = stored.map((s) => s.id).reverse();
      const page = (after: number, words?: string) => t.store.query({ after, limit: 3, units: [unit], order: 'newest', ...(words ? { words } : {}) });
      const seen: string[] = [];
      let after = 0;
      for (let first = await page(0); first.length > 0; first = await page(after)) {
        seen.push(...first.map((d) => d.id));
        after = first.at(-1)!.seq;
        if (seen.length === 3) await t.store.commitDocument(newDocument({ unit, title: 'Antrag später' }));
      }
      expect(seen).toEqual(newestFirst);
      expect((await page(0, 'ungerade')).map((d) => d.id)).toEqual([stored[5]!.id, stored[3]!.id, stored[1]!.id]);
      expect((await page(stored[5]!.seq, 'ungerade')).map((d) => d.id)).toEqual([stored[3]!.id, stored[1]!.id]);
      expect((await page(0)).map((d) => d.id)[1]).toBe(newestFirst[0]);
    });

    it('hands documents over final and in order: none past a pending text layer; its page words become searchable once', async () => {
      const unit = `U-${ulid()}`;
      const pending = newDocument({ unit, title: 'Eingang', textLayer: 'pending' });
      const plain = newDocument({ unit, title: 'Eingang' });
      const elsewhere = newDocument({ unit: `U-${ulid()}`, title: 'Eingang', textLayer: 'pending' });
      for (const doc of [pending, plain, elsewhere]) await t.store.commitDocument(doc);
      const final = async () => (await t.store.query({ after: 0, limit: 100, units: [unit], final: true })).map((d) => d.id);
      expect(await final()).toEqual([]);
      expect((await t.store.query({ after: 0, limit: 100, units: [unit] })).map((d) => d.id)).toEqual([pending.id, plain.id]);
      expect(await t.store.query({ after: 0, limit: 100, units: [unit], words: 'ordnungsamt' })).toEqual([]);

      const revise = (body: Buffer) => Buffer.from(JSON.stringify({ ...JSON.parse(body.toString('utf8')), textLayer: 'ready' }));
      const results = await Promise.all([t.store.finishTextLayer(pending.id, 'ready', revise, 'Ordnungsamt der Stadt'), t.store.finishTextLayer(pending.id, 'failed', revise, '')]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await t.store.finishTextLayer(plain.id, 'ready', revise, 'Stadt')).toBe(false);
      expect(await final()).toEqual([pending.id, plain.id]);
      expect(JSON.parse((await t.store.document(pending.id))!.body.toString('utf8'))).toMatchObject({ textLayer: 'ready', title: 'Eingang' });
      const won = results[0] ? [pending.id] : [];
      expect((await t.store.query({ after: 0, limit: 100, units: [unit], words: 'ordnungsamt eingang' })).map((d) => d.id)).toEqual(won);
    });

    it('merges a page over the caller’s units in feed order, cut at the limit, with or without a filter, and a cursor continues it exactly', async () => {
      const units = [`U-${ulid()}`, `U-${ulid()}`, `U-${ulid()}`];
      const docs: NewDocument[] = [];
      // Interleaved and uneven: the third unit's documents all come after the others'.
      for (const unit of [units[0]!, units[1]!, units[0]!, units[0]!, units[1]!, units[2]!, units[2]!]) {
        const doc = newDocument({ unit, title: docs.length % 2 === 0 ? 'Antrag Kita' : 'Antrag', caseNumber: 'AZ 5/26' });
        docs.push(doc);
        await t.store.commitDocument(doc);
      }
      const ids = (list: NewDocument[]) => list.map((d) => d.id);
      const page = async (q: { after?: number; words?: string; caseNumber?: string; status?: 'pending' }) => t.store.query({ after: 0, limit: 3, units, ...q });
      for (const filter of [{}, { words: 'antrag' }, { caseNumber: 'AZ 5/26' }, { status: 'pending' as const }]) {
        const first = await page(filter);
        expect(first.map((d) => d.id)).toEqual(ids(docs.slice(0, 3)));
        const second = await page({ ...filter, after: first.at(-1)!.seq });
        expect(second.map((d) => d.id)).toEqual(ids(docs.slice(3, 6)));
        expect((await page({ ...filter, after: second.at(-1)!.seq })).map((d) => d.id)).toEqual(ids(docs.slice(6)));
      }
      const kita = docs.filter((_, i) => i % 2 === 0);
      expect((await page({ words: 'kita antrag' })).map((d) => d.id)).toEqual(ids(kita.slice(0, 3)));
      expect((await t.store.query({ after: 0, limit: 10, units: [units[2]!, units[1]!], unit: units[2]!, words: 'antrag' })).map((d) => d.id)).toEqual(ids(docs.slice(5)));
    });

    it('keeps title words findable across the migration that gave them their unit and feed position', async () => {
      const db = await freshSqlClient(backend);
      try {
        const shipped = await shippedMigrations();
        const before = shipped.findIndex((m) => m.name === '005-search-plans.sql');
        await migrate(db, shipped.slice(0, before));
        const index = new BlindIndex(t.searchKeys);
        const id = ulid();
        await db.query(
          `INSERT INTO documents (id, feed_seq, unit, created_at, review_status, page_count, size_bytes, kek_id, sealed) VALUES ($1, 1, 'BA-Nord', $2, 'pending', 1, 1, $3, $4)`,
          [id, new Date(T0).toISOString(), t.keys.active.id, encryptObject(Buffer.from('{}'), `db/documents/${id}`, t.keys.active)],
        );
        await db.query('INSERT INTO document_words (token, document_id) VALUES ($1, $2)', [index.token('word', 'altakte'), id]);
        await migrate(db);
        const store = new MetadataStore(db, t.keys, t.searchKeys);
        expect((await store.query({ after: 0, limit: 10, units: ['BA-Nord'], words: 'Altakte' })).map((d) => d.id)).toEqual([id]);
        expect(await store.query({ after: 0, limit: 10, units: ['BA-Süd'], words: 'Altakte' })).toEqual([]);
      } finally {
        await db.close();
      }
    });

    it('keeps finding rows indexed under an older search key after a new one is appended', async () => {
      const old = generateKek('s-old');
      const dir = await mkdtemp(path.join(tmpdir(), 'vsc-meta-'));
      const first = await freshMetadataStore(backend, { searchKeys: new KekRing([old]), pgliteDir: dir });
      const doc = newDocument({ caseNumber: 'AZ 1/26', title: 'Altbestand' });
      await first.store.commitDocument(doc);
      await first.store.close();
      const rotated = await openMetadataStore(first.source, first.keys, new KekRing([old, generateKek('s-new')]));
      try {
        const found = await rotated.query({ after: 0, limit: 10, units: ['BA-Nord'], caseNumber: 'AZ 1/26', words: 'altbestand' });
        expect(found.map((d) => d.id)).toEqual([doc.id]);
      } finally {
        await rotated.close();
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('decides a review once: of two racing decisions exactly one wins', async () => {
      const doc = newDocument();
      await t.store.commitDocument(doc);
      const results = await Promise.all([t.store.decideReview(doc.id, 'approved', () => doc.body), t.store.decideReview(doc.id, 'rejected', () => doc.body)]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await t.store.decideReview(ulid(), 'approved', () => doc.body)).toBe(false);
    });

    it('keeps the first acknowledgement of a subject, also when two race; none for a missing document', async () => {
      const doc = newDocument();
      await t.store.commitDocument(doc);
      const [x, y] = await Promise.all([
        t.store.acknowledge(doc.id, 'sub-a', new Date(T0).toISOString(), Buffer.from('{"n":1}')),
        t.store.acknowledge(doc.id, 'sub-a', new Date(T0).toISOString(), Buffer.from('{"n":2}')),
      ]);
      expect([x!.created, y!.created].sort()).toEqual([false, true]);
      expect(x!.body.toString()).toBe(y!.body.toString());
      expect(await t.store.acknowledge(ulid(), 'sub-a', new Date(T0).toISOString(), Buffer.from('{}'))).toBeUndefined();
      const ackd = await t.store.query({ after: 0, limit: 500, units: ['BA-Nord'], acknowledgement: { subjectHash: 'sub-a', acknowledged: true } });
      expect(ackd.map((d) => d.id)).toEqual([doc.id]);
    });

    it('deletes a document with its acknowledgements, keeps a deletion row and queues its follow-up job with it', async () => {
      const doc = newDocument({ unit: 'BA-Ost' });
      await t.store.commitDocument(doc);
      await t.store.acknowledge(doc.id, 'sub-b', new Date(T0).toISOString(), Buffer.from('{}'));
      const kind = `purge-${doc.id}`;
      const followUp = { kind, documentId: doc.id, payload: null, maxAttempts: 3, runAt: T0 };
      const deleted = await t.store.deleteDocument(doc.id, new Date(T0).toISOString(), followUp);
      expect(await t.store.jobs.claim([kind], 'h', T0, 1_000, 10)).toMatchObject([{ id: deleted!.jobId, documentId: doc.id }]);
      // A second deletion finds nothing and queues nothing.
      expect(await t.store.deleteDocument(doc.id, new Date(T0).toISOString(), followUp)).toBeUndefined();
      expect(await t.store.jobs.claim([kind], 'h', T0 + 5_000, 1_000, 10)).toMatchObject([{ id: deleted!.jobId, attempt: 2 }]);
      expect(await t.store.document(doc.id)).toBeUndefined();
      expect(await t.store.deletion(doc.id)).toEqual({ unit: 'BA-Ost' });
      expect(await t.store.deletion(ulid())).toBeUndefined();
    });

    it('lets exactly one of many concurrent claims of one key win; the others see it in progress', async () => {
      const raceKey = `race-${ulid()}`;
      const decisions = await Promise.all(Array.from({ length: 12 }, () => claimOf(t.store, raceKey, ulid())));
      expect(decisions.filter((d) => d.kind === 'claimed')).toHaveLength(1);
      expect(decisions.filter((d) => d.kind === 'in_progress')).toHaveLength(11);
    });

    it('replays a committed claim, refuses another fingerprint, takes over an abandoned lease and an expired entry', async () => {
      const key = `k-${ulid()}`;
      const first = newDocument();
      expect(await claimOf(t.store, key, first.id)).toEqual({ kind: 'claimed' });
      await t.store.commitDocument(first, key);
      expect(await claimOf(t.store, key, ulid())).toEqual({ kind: 'replay', documentId: first.id });
      expect(await claimOf(t.store, key, ulid(), T0, 'other')).toEqual({ kind: 'conflict' });
      expect(await claimOf(t.store, key, ulid(), T0 + 3_600_000)).toEqual({ kind: 'claimed' });

      const abandoned = `k-${ulid()}`;
      const crashed = ulid();
      await claimOf(t.store, abandoned, crashed);
      expect(await claimOf(t.store, abandoned, ulid(), T0 + 1_000)).toEqual({ kind: 'in_progress' });
      const successor = newDocument();
      expect(await claimOf(t.store, abandoned, successor.id, T0 + 61_000)).toEqual({ kind: 'claimed' });
      // The request that lost its lease cannot commit any more: exactly one document per key.
      await expect(t.store.commitDocument(newDocument({ id: crashed }), abandoned)).rejects.toBeInstanceOf(ClaimLostError);
      expect(await t.store.isCommitted(crashed)).toBe(false);

      const released = `k-${ulid()}`;
      const doc = ulid();
      await claimOf(t.store, released, doc);
      await t.store.releaseClaim(released, doc, T0);
      expect(await claimOf(t.store, released, ulid(), T0 + 1)).toEqual({ kind: 'claimed' });
    });

    it('removes expired claims only', async () => {
      const key = `k-${ulid()}`;
      await claimOf(t.store, key, ulid(), T0 + 10 * 3_600_000);
      await t.store.deleteExpiredClaims(T0 + 11 * 3_600_000 - 1);
      expect(await claimOf(t.store, key, ulid(), T0 + 10 * 3_600_000 + 1)).toEqual({ kind: 'in_progress' });
      expect(await t.store.deleteExpiredClaims(T0 + 11 * 3_600_000)).toBeGreaterThanOrEqual(1);
      expect((await claimOf(t.store, key, ulid(), T0 + 10 * 3_600_000 + 2)).kind).toBe('claimed');
    });

    it('gives a lease to exactly one of racing holders, to that holder again, and to another once it expired', async () => {
      const name = `lease-${ulid()}`;
      const taken = await Promise.all(['a', 'b', 'c', 'd'].map((holder) => t.store.takeLease(name, holder, T0, 1_000)));
      expect(taken.filter(Boolean)).toHaveLength(1);
      const winner = ['a', 'b', 'c', 'd'][taken.indexOf(true)]!;
      const other = winner === 'a' ? 'b' : 'a';
      expect(await t.store.takeLease(name, other, T0 + 999, 1_000)).toBe(false);
      expect(await t.store.takeLease(name, winner, T0 + 999, 1_000)).toBe(true);
      expect(await t.store.takeLease(name, other, T0 + 1_999, 1_000)).toBe(true);
    });

    it('resolves a cursor id to its feed position for its own unit only, also after the document was deleted', async () => {
      const doc = newDocument();
      const { seq } = await t.store.commitDocument(doc);
      expect(await t.store.feedPosition(doc.id, [doc.unit])).toBe(seq);
      expect(await t.store.feedPosition(doc.id, ['BA-Fremd'])).toBeUndefined();
      expect(await t.store.feedPosition(ulid(), [doc.unit])).toBeUndefined();
      await t.store.deleteDocument(doc.id, new Date(T0).toISOString());
      expect(await t.store.feedPosition(doc.id, [doc.unit])).toBe(seq);
      expect(await t.store.feedPosition(doc.id, ['BA-Fremd'])).toBeUndefined();
    });

    it('refuses a sealed record moved to another row', async () => {
      const a = newDocument();
      const b = newDocument();
      await t.store.commitDocument(a);
      await t.store.commitDocument(b);
      const db = (t.store as unknown as { db: { query(q: string, p: unknown[]): Promise<unknown> } }).db;
      await db.query('UPDATE documents SET sealed = (SELECT sealed FROM documents WHERE id = $2) WHERE id = $1', [a.id, b.id]);
      await expect(t.store.document(a.id)).rejects.toBeInstanceOf(IntegrityError);
    });
  });
}
