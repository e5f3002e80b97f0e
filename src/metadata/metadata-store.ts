/**
 * The metadata store (docs/metadata-store.md): documents, their feed order, acknowledgements,
 * deletions and idempotency claims in PostgreSQL — PGlite embedded or a server, one SQL for both.
 * Every metadata value is sealed with the at-rest envelope before it reaches the database; plain
 * columns hold only ids, unit, timestamps, status, sizes and key ids, and searchable values only
 * as blind index tokens.
 */
import { decryptObject, encryptObject } from '../crypto/at-rest.ts';
import { BlindIndex, indexWords, normalizeCaseNumber } from '../crypto/blind-index.ts';
import type { KekLookup } from '../keys/kek-ring.ts';
import type { AuditEvent } from '../audit/trail.ts';
import { AuditStore, type AuditCheckpointPolicy } from './audit-store.ts';
import { JobStore, type NewJob } from './job-store.ts';
import type { SqlClient, SqlQueryable } from './sql.ts';

export type ReviewStatus = 'pending' | 'approved' | 'rejected';

/** A document as the store keeps it: plain facts for ordering and authorization, the record as opaque bytes. */
export interface DocumentRow {
  id: string;
  unit: string;
  /** ISO 8601. */
  createdAt: string;
  reviewStatus: ReviewStatus;
  pageCount: number;
  sizeBytes: number;
  /** The whole record (JSON); sealed before it is written. */
  body: Buffer;
}

export interface NewDocument extends DocumentRow {
  /** Indexed blindly, never stored as given. */
  search: { caseNumber?: string; title: string };
  /** `pending` while the OCR job is still to add the text layer; `none` when absent. */
  textLayer?: TextLayerState;
}

export type TextLayerState = 'none' | 'pending' | 'ready' | 'failed';

export interface StoredDocument extends DocumentRow {
  /** Position in the feed: commit order, without gaps. */
  seq: number;
}

export interface DocumentQuery {
  /** The cursor: only positions after this one in `order` (0: from the start). */
  after: number;
  limit: number;
  /** Feed order (the default) or its reverse: newest first, then backwards from the cursor. */
  order?: 'oldest' | 'newest';
  /** The caller's units: nothing outside them is ever returned. */
  units: readonly string[];
  unit?: string;
  status?: ReviewStatus;
  caseNumber?: string;
  /** Every word must occur in the title. */
  words?: string;
  capturedFrom?: string;
  capturedTo?: string;
  /** Only documents this subject has (true) or has not (false) acknowledged. */
  acknowledgement?: { subjectHash: string; acknowledged: boolean };
  /** Only final documents, and none behind the oldest one of `units` still pending: handed over in order, each once. */
  final?: boolean;
}

export type ClaimDecision =
  | { kind: 'claimed' }
  | { kind: 'replay'; documentId: string }
  | { kind: 'conflict' }
  | { kind: 'in_progress' };

export interface ClaimRequest {
  keyHash: string;
  fingerprint: string;
  documentId: string;
  now: number;
  ttlMs: number;
  leaseMs: number;
}

/** The claim a commit was made under went to another request (its lease had run out): nothing was committed. */
export class ClaimLostError extends Error {
  constructor() {
    super('idempotency claim lost');
    this.name = 'ClaimLostError';
  }
}

interface DocumentColumns {
  id: string;
  seq: string;
  unit: string;
  created_at: Date | string;
  review_status: ReviewStatus;
  page_count: number;
  size_bytes: string | number;
  sealed: Uint8Array;
}

/** Above every feed position: the bound of a final feed while nothing is pending. */
const MAX_SEQ = '9223372036854775807';

const DOCUMENT_COLUMNS = 'id, feed_seq::text AS seq, unit, created_at, review_status, page_count, size_bytes::text AS size_bytes, sealed';

export class MetadataStore {
  private readonly index: BlindIndex;
  /** The job queue, in the same database. */
  readonly jobs: JobStore;
  /** The audit trail, in the same database: entries of the changes below commit in their transactions. */
  readonly audit: AuditStore;

  constructor(
    private readonly db: SqlClient,
    private readonly keys: KekLookup,
    searchKeys: ConstructorParameters<typeof BlindIndex>[0],
    checkpoints: AuditCheckpointPolicy = { every: DEFAULT_CHECKPOINT_EVERY },
  ) {
    this.index = new BlindIndex(searchKeys);
    this.jobs = new JobStore(db, keys);
    this.audit = new AuditStore(db, keys, checkpoints);
  }

  /**
   * Makes a document exist, in one transaction: its feed position (the next number, taken under the
   * counter's row lock so positions become visible in order), its row, its word tokens, and with an
   * idempotency key the claim marked done; with `followUp`, the job that continues it (OCR) is queued in it too;
   * with `audit`, its entry (`captured`) is appended last.
   */
  async commitDocument(doc: NewDocument, idempotencyKeyHash?: string, followUp?: NewJob, audit?: AuditEvent): Promise<StoredDocument & { jobId?: number }> {
    const sealed = encryptObject(doc.body, binding.document(doc.id), this.keys.active);
    const caseToken = doc.search.caseNumber ? this.index.token('case', normalizeCaseNumber(doc.search.caseNumber)) : null;
    const seq = await this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ seq: string }>('UPDATE feed_counter SET last_seq = last_seq + 1 RETURNING last_seq::text AS seq');
      const seq = rows[0]!.seq;
      await tx.query(
        `INSERT INTO documents (id, feed_seq, unit, created_at, review_status, page_count, size_bytes, case_token, search_key_id, kek_id, sealed, text_layer)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [doc.id, seq, doc.unit, doc.createdAt, doc.reviewStatus, doc.pageCount, doc.sizeBytes, caseToken, this.index.activeKeyId, this.keys.active.id, sealed, doc.textLayer ?? 'none'],
      );
      await this.indexWords(tx, doc.id, doc.search.title);
      if (idempotencyKeyHash) await completeClaim(tx, idempotencyKeyHash, doc.id);
      const jobId = followUp ? await this.jobs.enqueue(followUp, followUp.runAt, tx) : undefined;
      if (audit) await this.audit.appendIn(tx, audit);
      return { seq: Number(seq), jobId };
    });
    return { ...withoutSearch(doc), seq: seq.seq, ...(seq.jobId !== undefined ? { jobId: seq.jobId } : {}) };
  }

  async document(id: string): Promise<StoredDocument | undefined> {
    const { rows } = await this.db.query<DocumentColumns>(`SELECT ${DOCUMENT_COLUMNS} FROM documents WHERE id = $1`, [id]);
    return rows[0] && this.open(rows[0]);
  }

  async isCommitted(id: string): Promise<boolean> {
    const { rows } = await this.db.query('SELECT 1 FROM documents WHERE id = $1', [id]);
    return rows.length > 0;
  }

  /** Which of `ids` are committed documents; for the sweep, which judges blobs in batches. */
  async committedAmong(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const { rows } = await this.db.query<{ id: string }>('SELECT id FROM documents WHERE id = ANY($1::text[])', [ids]);
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Records a review decision if the document is still pending: `revise` makes the new record from the
   * current one under the row lock, so a text layer finished meanwhile is kept; `audit` commits with it.
   * False when it is not pending (decided or gone).
   */
  async decideReview(id: string, status: Exclude<ReviewStatus, 'pending'>, revise: (body: Buffer) => Buffer, audit?: AuditEvent): Promise<boolean> {
    return this.revise(id, `review_status = 'pending'`, revise, `review_status = '${status}'`, audit);
  }

  /**
   * The OCR job's result, if the text layer is still pending: the record revised under the row lock,
   * the state, the page words as blind index tokens (beside the title's), and `audit`. False when it was not pending.
   */
  async finishTextLayer(id: string, state: 'ready' | 'failed', revise: (body: Buffer) => Buffer, words: string, audit?: AuditEvent): Promise<boolean> {
    return this.revise(id, `text_layer = 'pending'`, revise, `text_layer = '${state}'`, audit, (tx) => this.indexWords(tx, id, words));
  }

  /** Replaces a record under its row lock when `condition` holds, with `set`, `also` and the audit entry in the same transaction. */
  private async revise(
    id: string,
    condition: string,
    revise: (body: Buffer) => Buffer,
    set: string,
    audit: AuditEvent | undefined,
    also?: (tx: SqlQueryable) => Promise<void>,
  ): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ sealed: Uint8Array }>(`SELECT sealed FROM documents WHERE id = $1 AND ${condition} FOR UPDATE`, [id]);
      if (rows.length === 0) return false;
      const body = revise(decryptObject(Buffer.from(rows[0]!.sealed), binding.document(id), this.keys));
      const sealed = encryptObject(body, binding.document(id), this.keys.active);
      await tx.query(`UPDATE documents SET ${set}, kek_id = $2, sealed = $3 WHERE id = $1`, [id, this.keys.active.id, sealed]);
      await also?.(tx);
      if (audit) await this.audit.appendIn(tx, audit);
      return true;
    });
  }

  /** Blind tokens of the words of `text` for the document; a word already indexed stays once. */
  private async indexWords(tx: SqlQueryable, id: string, text: string): Promise<void> {
    const words = indexWords(text).map((w) => this.index.token('word', w));
    if (words.length === 0) return;
    await tx.query(
      'INSERT INTO document_words (token, document_id, unit, feed_seq) SELECT unnest($1::text[]), id, unit, feed_seq FROM documents WHERE id = $2 ON CONFLICT DO NOTHING',
      [words, id],
    );
  }

  /** The subject's acknowledgement: the first one stays, with `audit` in its transaction. Undefined when the document does not exist (any more). */
  async acknowledge(id: string, subjectHash: string, createdAt: string, body: Buffer, audit?: AuditEvent): Promise<{ created: boolean; body: Buffer } | undefined> {
    const key = binding.acknowledgement(id, subjectHash);
    return this.db.transaction(async (tx) => {
      // The share lock keeps a concurrent deletion waiting until this acknowledgement is in (and then removes it with the document).
      const { rows: present } = await tx.query('SELECT 1 FROM documents WHERE id = $1 FOR SHARE', [id]);
      if (present.length === 0) return undefined;
      const { rows: inserted } = await tx.query(
        `INSERT INTO acknowledgements (document_id, subject_hash, created_at, kek_id, sealed) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (document_id, subject_hash) DO NOTHING RETURNING 1`,
        [id, subjectHash, createdAt, this.keys.active.id, encryptObject(body, key, this.keys.active)],
      );
      if (inserted.length > 0) {
        if (audit) await this.audit.appendIn(tx, audit);
        return { created: true, body };
      }
      const { rows } = await tx.query<{ sealed: Uint8Array }>('SELECT sealed FROM acknowledgements WHERE document_id = $1 AND subject_hash = $2', [id, subjectHash]);
      return { created: false, body: decryptObject(Buffer.from(rows[0]!.sealed), key, this.keys) };
    });
  }

  /**
   * Removes the document (with its acknowledgements and tokens) and leaves a deletion row with its
   * feed position, in one transaction; with `followUp`, the job that removes what is left elsewhere
   * (its blobs) is queued in the same transaction, and `audit` appended. The job's id, or undefined when there was no such document.
   */
  async deleteDocument(id: string, deletedAt: string, followUp?: NewJob, audit?: AuditEvent): Promise<{ jobId?: number } | undefined> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ unit: string; feed_seq: string }>('DELETE FROM documents WHERE id = $1 RETURNING unit, feed_seq::text AS feed_seq', [id]);
      if (rows.length === 0) return undefined;
      await tx.query('INSERT INTO deletions (document_id, unit, deleted_at, feed_seq) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
        id,
        rows[0]!.unit,
        deletedAt,
        rows[0]!.feed_seq,
      ]);
      const result = followUp ? { jobId: await this.jobs.enqueue(followUp, Date.parse(deletedAt), tx) } : {};
      if (audit) await this.audit.appendIn(tx, audit);
      return result;
    });
  }

  async deletion(id: string): Promise<{ unit: string } | undefined> {
    const { rows } = await this.db.query<{ unit: string }>('SELECT unit FROM deletions WHERE document_id = $1', [id]);
    return rows[0];
  }

  /** The feed position of a document of `units`, also of one deleted since (a cursor may name it); undefined for any other id. */
  async feedPosition(id: string, units: readonly string[]): Promise<number | undefined> {
    const { rows } = await this.db.query<{ seq: string }>(
      `SELECT feed_seq::text AS seq FROM documents WHERE id = $1 AND unit = ANY($2::text[])
       UNION ALL SELECT feed_seq::text FROM deletions WHERE document_id = $1 AND unit = ANY($2::text[])`,
      [id, [...units]],
    );
    return rows[0] ? Number(rows[0].seq) : undefined;
  }

  /**
   * Documents in feed order after a position, filtered in SQL: every condition is on a plain column or
   * a token. Read per unit of the caller, each unit's part from an index in feed order and cut at
   * `limit`, then merged: the cost of a page depends on `limit` and the number of units, not on how
   * many documents there are or where the matches lie; `order: 'newest'` reads the same indexes backwards (docs/metadata-store.md, "Query plans").
   */
  async query(q: DocumentQuery): Promise<StoredDocument[]> {
    const newest = q.order === 'newest';
    const units = [...new Set(q.units)].filter((u) => !q.unit || u === q.unit);
    if (units.length === 0) return [];
    const params: unknown[] = [q.after, units];
    const param = (value: unknown) => `$${params.push(value)}`;
    const where: string[] = [];
    if (q.status) where.push(`d.review_status = ${param(q.status)}`);
    if (q.capturedFrom) where.push(`d.created_at >= ${param(q.capturedFrom)}`);
    if (q.capturedTo) where.push(`d.created_at < ${param(q.capturedTo)}`);
    if (q.caseNumber) where.push(`d.case_token = ANY(${param(this.index.tokens('case', normalizeCaseNumber(q.caseNumber)))}::text[])`);
    if (q.final) {
      // Before the oldest pending document of the caller's units (so none pending): when it becomes final, it is still ahead of every cursor.
      // `+ 0` makes it a filter, not an index bound: the planner cannot know the bound's value and, with it as a bound, read every row up to it to sort them.
      where.push(`d.feed_seq + 0 < COALESCE((SELECT min(p.feed_seq) FROM documents p WHERE p.text_layer = 'pending' AND p.unit = ANY($2::text[])), ${MAX_SEQ})`);
    }
    if (q.acknowledgement) {
      const negate = q.acknowledgement.acknowledged ? '' : 'NOT ';
      where.push(`${negate}EXISTS (SELECT 1 FROM acknowledgements a WHERE a.document_id = d.id AND a.subject_hash = ${param(q.acknowledgement.subjectHash)})`);
    }
    // The longest word is likely the rarest: its postings drive the page, the others are looked up per posting.
    const [driver, ...others] = (q.words ? indexWords(q.words) : []).sort((a, b) => b.length - a.length);
    // The row is read only when a condition needs it.
    const from = driver === undefined ? 'documents d' : `document_words w${where.length > 0 ? ' JOIN documents d ON d.feed_seq = w.feed_seq' : ''}`;
    const at = driver === undefined ? 'd' : 'w';
    const conditions = [
      ...where,
      ...others.map((word) => `EXISTS (SELECT 1 FROM document_words o WHERE o.token = ANY(${param(this.index.tokens('word', word))}::text[]) AND o.unit = ${at}.unit AND o.feed_seq = ${at}.feed_seq)`),
    ];
    // One part per unit (and per search key's token of the driving word), each cut at `limit`.
    const sources = driver === undefined ? 'unnest($2::text[]) AS u(unit)' : `unnest($2::text[]) AS u(unit) CROSS JOIN unnest(${param(this.index.tokens('word', driver))}::text[]) AS t(token)`;
    const driverCondition = driver === undefined ? '' : ' AND w.token = t.token';
    const limit = param(q.limit);
    // Positions start at 1, so the cursor 0 bounds nothing in either order.
    const dir = newest ? ' DESC' : '';
    const part = `SELECT ${at}.feed_seq FROM ${from} WHERE ${at}.unit = u.unit${driverCondition} AND ${at}.feed_seq ${newest && q.after > 0 ? '<' : '>'} $1${conditions.map((c) => ` AND ${c}`).join('')} ORDER BY ${at}.feed_seq${dir} LIMIT ${limit}`;
    const { rows } = await this.db.query<DocumentColumns>(
      `SELECT ${DOCUMENT_COLUMNS} FROM documents WHERE feed_seq IN (
         SELECT DISTINCT s.feed_seq FROM ${sources} CROSS JOIN LATERAL (${part}) s ORDER BY s.feed_seq${dir} LIMIT ${limit})
       ORDER BY feed_seq${dir}`,
      params,
    );
    return rows.map((r) => this.open(r));
  }

  /**
   * Claims an idempotency key atomically (the primary key decides between racing requests), or says
   * what became of the request that holds it. An expired entry, or a lease of a request that never
   * committed, is taken over.
   */
  async claim(request: ClaimRequest): Promise<ClaimDecision> {
    const now = new Date(request.now).toISOString();
    const lease = new Date(request.now + request.leaseMs).toISOString();
    const expiry = new Date(request.now + request.ttlMs).toISOString();
    return this.db.transaction(async (tx) => {
      const { rows: inserted } = await tx.query(
        `INSERT INTO idempotency_keys (key_hash, fingerprint, document_id, lease_until, expires_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (key_hash) DO NOTHING RETURNING 1`,
        [request.keyHash, request.fingerprint, request.documentId, lease, expiry],
      );
      if (inserted.length > 0) return { kind: 'claimed' };
      const { rows } = await tx.query<{ fingerprint: string; document_id: string; done: boolean; lease_active: boolean; expired: boolean; committed: boolean }>(
        `SELECT fingerprint, document_id, done, lease_until > $2 AS lease_active, expires_at <= $2 AS expired,
                EXISTS (SELECT 1 FROM documents d WHERE d.id = k.document_id) AS committed
         FROM idempotency_keys k WHERE key_hash = $1 FOR UPDATE`,
        [request.keyHash, now],
      );
      const existing = rows[0]!;
      if (!existing.expired) {
        if (existing.fingerprint !== request.fingerprint) return { kind: 'conflict' };
        if (existing.done || existing.committed) return { kind: 'replay', documentId: existing.document_id };
        if (existing.lease_active) return { kind: 'in_progress' };
      }
      await tx.query(
        'UPDATE idempotency_keys SET fingerprint = $2, document_id = $3, lease_until = $4, expires_at = $5, done = false WHERE key_hash = $1',
        [request.keyHash, request.fingerprint, request.documentId, lease, expiry],
      );
      return { kind: 'claimed' };
    });
  }

  /** Ends a failed request's lease at once; the entry stays, so a retry still finds the document if it did commit. */
  async releaseClaim(keyHash: string, documentId: string, now: number): Promise<void> {
    await this.db.query('UPDATE idempotency_keys SET lease_until = $3 WHERE key_hash = $1 AND document_id = $2 AND NOT done', [
      keyHash,
      documentId,
      new Date(now).toISOString(),
    ]);
  }

  async deleteExpiredClaims(now: number): Promise<number> {
    const { rows } = await this.db.query('DELETE FROM idempotency_keys WHERE expires_at <= $1 RETURNING 1', [new Date(now).toISOString()]);
    return rows.length;
  }

  /**
   * Takes the lease `name` for `holder` until `now + durationMs` when it is free, expired or already
   * theirs; one statement, so of instances racing for it exactly one wins. True when taken.
   */
  async takeLease(name: string, holder: string, now: number, durationMs: number): Promise<boolean> {
    const { rows } = await this.db.query(
      `INSERT INTO leases (name, holder, lease_until) VALUES ($1, $2, $4)
       ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, lease_until = EXCLUDED.lease_until
         WHERE leases.lease_until <= $3 OR leases.holder = EXCLUDED.holder
       RETURNING 1`,
      [name, holder, new Date(now).toISOString(), new Date(now + durationMs).toISOString()],
    );
    return rows.length > 0;
  }

  /** Cheap reachability probe for /readyz. */
  async ping(): Promise<void> {
    await this.db.query('SELECT 1');
  }

  close(): Promise<void> {
    return this.db.close();
  }

  private open(row: DocumentColumns): StoredDocument {
    return {
      id: row.id,
      seq: Number(row.seq),
      unit: row.unit,
      createdAt: new Date(row.created_at).toISOString(),
      reviewStatus: row.review_status,
      pageCount: row.page_count,
      sizeBytes: Number(row.size_bytes),
      body: decryptObject(Buffer.from(row.sealed), binding.document(row.id), this.keys),
    };
  }
}

/** Checkpoints of the audit chain without configuration (tests, CLIs): every 1,000 entries. */
export const DEFAULT_CHECKPOINT_EVERY = 1000;

/** Marks the claim done inside the commit; a claim taken over meanwhile aborts the commit. */
async function completeClaim(tx: SqlQueryable, keyHash: string, documentId: string): Promise<void> {
  const { rows } = await tx.query('UPDATE idempotency_keys SET done = true WHERE key_hash = $1 AND document_id = $2 RETURNING 1', [keyHash, documentId]);
  if (rows.length === 0) throw new ClaimLostError();
}

/** What a sealed value is bound to (the envelope's associated data), so a value moved to another row fails to open. */
const binding = {
  document: (id: string) => `db/documents/${id}`,
  acknowledgement: (id: string, subjectHash: string) => `db/acknowledgements/${id}/${subjectHash}`,
};

function withoutSearch(doc: NewDocument): DocumentRow {
  const { search: _search, textLayer: _textLayer, ...row } = doc;
  return row;
}
