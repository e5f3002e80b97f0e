/**
 * The audit trail in the metadata database (docs/audit.md): one hash chain over every entry, its
 * next position taken under the counter's row lock inside the transaction of the change it records
 * (gap-free, visible in commit order); each entry sealed with the at-rest envelope; a document's head
 * found by index; signed checkpoints every `every` entries and whenever `checkpoint()` is called.
 */
import { monotonicFactory } from 'ulid';
import type { Checkpoint, CheckpointSigner } from '../audit/checkpoint.ts';
import type { AuditEntry, AuditEvent, AuditLog, HashedEntry } from '../audit/trail.ts';
import { sha256Hex } from '../kernel/hash.ts';
import { decryptObject, encryptObject } from '../crypto/at-rest.ts';
import type { KekLookup } from '../keys/kek-ring.ts';
import type { SqlClient, SqlQueryable } from './sql.ts';

export interface AuditCheckpointPolicy {
  /** A checkpoint at every multiple of this many entries, in the appending transaction. */
  every: number;
  /** Absent where nothing appends (the CLIs): then no checkpoints are made. */
  sign?: CheckpointSigner;
}

/** One stored entry as verification reads it: the plain columns and the opened bytes (or why they did not open). */
export interface AuditRow {
  seq: number;
  id: string;
  at: string;
  documentId: string;
  unit: string;
  type: string;
  hash: string;
  prevHash: string | null;
  prevDocHash: string | null;
  bytes: Buffer | Error;
}

export interface StoredCheckpoint {
  seq: number;
  at: string;
  jws: string;
}

interface EventColumns {
  seq: string;
  id: string;
  at: Date | string;
  document_id: string;
  unit: string;
  type: string;
  sealed: Uint8Array;
  hash: string;
  prev_hash: string | null;
  prev_doc_hash: string | null;
}

const EVENT_COLUMNS = 'seq::text AS seq, id, at, document_id, unit, type, sealed, hash, prev_hash, prev_doc_hash';

export class AuditStore implements AuditLog {
  private readonly newId = monotonicFactory();

  constructor(
    private readonly db: SqlClient,
    private readonly keys: KekLookup,
    private readonly policy: AuditCheckpointPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  /** An entry of its own (page views, tickets, exports): committed when it resolves. */
  append(event: AuditEvent): Promise<HashedEntry> {
    return this.db.transaction((tx) => this.appendIn(tx, event));
  }

  /**
   * Appends inside the caller's transaction, so the entry commits (or rolls back) with the change it
   * records. Call it last in the transaction: the counter's row lock serializes appends until the commit.
   */
  async appendIn(tx: SqlQueryable, event: AuditEvent): Promise<HashedEntry> {
    const { rows } = await tx.query<{ seq: string; prev: string | null }>(
      'UPDATE audit_counter SET last_seq = last_seq + 1 RETURNING last_seq::text AS seq, last_hash AS prev',
    );
    const seq = Number(rows[0]!.seq);
    const { rows: head } = await tx.query<{ hash: string }>('SELECT hash FROM audit_events WHERE document_id = $1 ORDER BY audit_events.seq DESC LIMIT 1', [event.documentId]);
    const now = this.now();
    const entry: AuditEntry = { v: 2, seq, id: this.newId(now), at: new Date(now).toISOString(), prev: rows[0]!.prev, prevDoc: head[0]?.hash ?? null, ...event };
    const bytes = Buffer.from(JSON.stringify(entry));
    const hash = sha256Hex(bytes);
    await tx.query(
      `INSERT INTO audit_events (seq, id, at, document_id, unit, type, kek_id, sealed, hash, prev_hash, prev_doc_hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [seq, entry.id, entry.at, event.documentId, event.unit, event.type, this.keys.active.id, encryptObject(bytes, binding(seq, entry.id), this.keys.active), hash, entry.prev, entry.prevDoc],
    );
    await tx.query('UPDATE audit_counter SET last_hash = $1', [hash]);
    if (this.policy.sign && seq % this.policy.every === 0) await this.insertCheckpoint(tx, { seq, hash, at: entry.at }, this.policy.sign);
    return { ...entry, hash };
  }

  /**
   * Signs the newest committed entry unless a checkpoint already names it: the periodic checkpoint,
   * so a quiet trail's last entries are covered too. The checkpoint made, or undefined.
   */
  async checkpoint(): Promise<Checkpoint | undefined> {
    const sign = this.policy.sign;
    if (!sign) return undefined;
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ seq: string; hash: string }>(
        `SELECT seq::text AS seq, hash FROM audit_events WHERE seq > (SELECT COALESCE(max(seq), 0) FROM audit_checkpoints) ORDER BY audit_events.seq DESC LIMIT 1`,
      );
      if (!rows[0]) return undefined;
      const checkpoint = { seq: Number(rows[0].seq), hash: rows[0].hash, at: new Date(this.now()).toISOString() };
      return (await this.insertCheckpoint(tx, checkpoint, sign)) ? checkpoint : undefined;
    });
  }

  /** The document's entries, oldest first (by index); empty when it has none. */
  async documentTrail(documentId: string): Promise<HashedEntry[]> {
    const { rows } = await this.db.query<EventColumns>(`SELECT ${EVENT_COLUMNS} FROM audit_events WHERE document_id = $1 ORDER BY audit_events.seq`, [documentId]);
    return rows.map((r) => this.entryOf(r));
  }

  /** The chain position of an entry of `units`; undefined for any other id (a cursor names only the caller's own). */
  async positionOf(id: string, units: readonly string[]): Promise<number | undefined> {
    const { rows } = await this.db.query<{ seq: string }>('SELECT seq::text AS seq FROM audit_events WHERE id = $1 AND unit = ANY($2::text[])', [id, [...units]]);
    return rows[0] ? Number(rows[0].seq) : undefined;
  }

  /** Entries of `units` after a position, in chain order. */
  async page(query: { after: number; limit: number; units: readonly string[] }): Promise<HashedEntry[]> {
    const { rows } = await this.db.query<EventColumns>(
      `SELECT ${EVENT_COLUMNS} FROM audit_events WHERE seq > $1 AND unit = ANY($2::text[]) ORDER BY audit_events.seq LIMIT $3`,
      [query.after, [...query.units], query.limit],
    );
    return rows.map((r) => this.entryOf(r));
  }

  /** The stored rows with `from < seq <= to`, in order, opened but not judged: verification does that. */
  async rows(from: number, to: number): Promise<AuditRow[]> {
    const { rows } = await this.db.query<EventColumns>(`SELECT ${EVENT_COLUMNS} FROM audit_events WHERE seq > $1 AND seq <= $2 ORDER BY audit_events.seq`, [from, to]);
    return rows.map((r) => ({
      seq: Number(r.seq),
      id: r.id,
      at: new Date(r.at).toISOString(),
      documentId: r.document_id,
      unit: r.unit,
      type: r.type,
      hash: r.hash,
      prevHash: r.prev_hash,
      prevDocHash: r.prev_doc_hash,
      bytes: this.tryOpen(r),
    }));
  }

  /** For each document, the hash of its newest entry before `seq` (by index), or null when it has none. */
  async documentHeadsBefore(documentIds: readonly string[], seq: number): Promise<Map<string, string | null>> {
    if (documentIds.length === 0) return new Map();
    const { rows } = await this.db.query<{ document_id: string; hash: string | null }>(
      `SELECT d AS document_id, (SELECT hash FROM audit_events e WHERE e.document_id = d AND e.seq < $2 ORDER BY e.seq DESC LIMIT 1) AS hash
       FROM unnest($1::text[]) AS d`,
      [[...documentIds], seq],
    );
    return new Map(rows.map((r) => [r.document_id, r.hash]));
  }

  /** What the counter says was written, and the newest stored position (they differ only after tampering). */
  async extent(): Promise<{ counterSeq: number; counterHash: string | null; maxSeq: number }> {
    const { rows } = await this.db.query<{ counter_seq: string; counter_hash: string | null; max_seq: string }>(
      `SELECT c.last_seq::text AS counter_seq, c.last_hash AS counter_hash, (SELECT COALESCE(max(seq), 0) FROM audit_events)::text AS max_seq FROM audit_counter c`,
    );
    return { counterSeq: Number(rows[0]!.counter_seq), counterHash: rows[0]!.counter_hash, maxSeq: Number(rows[0]!.max_seq) };
  }

  /** Checkpoints newest first, `before` a position (exclusive; undefined: from the newest). */
  async checkpointsBefore(before: number | undefined, limit: number): Promise<StoredCheckpoint[]> {
    const { rows } = await this.db.query<{ seq: string; at: Date | string; jws: string }>(
      `SELECT seq::text AS seq, at, jws FROM audit_checkpoints WHERE seq < $1 ORDER BY audit_checkpoints.seq DESC LIMIT $2`,
      [before ?? Number.MAX_SAFE_INTEGER, limit],
    );
    return rows.map((r) => ({ seq: Number(r.seq), at: new Date(r.at).toISOString(), jws: r.jws }));
  }

  /** Checkpoints with `from < seq <= to`, in order. */
  async checkpointsIn(from: number, to: number): Promise<StoredCheckpoint[]> {
    const { rows } = await this.db.query<{ seq: string; at: Date | string; jws: string }>(
      'SELECT seq::text AS seq, at, jws FROM audit_checkpoints WHERE seq > $1 AND seq <= $2 ORDER BY audit_checkpoints.seq',
      [from, to],
    );
    return rows.map((r) => ({ seq: Number(r.seq), at: new Date(r.at).toISOString(), jws: r.jws }));
  }

  private async insertCheckpoint(tx: SqlQueryable, checkpoint: Checkpoint, sign: CheckpointSigner): Promise<boolean> {
    const { rows } = await tx.query('INSERT INTO audit_checkpoints (seq, at, jws) VALUES ($1, $2, $3) ON CONFLICT (seq) DO NOTHING RETURNING 1', [
      checkpoint.seq,
      checkpoint.at,
      await sign(checkpoint),
    ]);
    return rows.length > 0;
  }

  private tryOpen(row: EventColumns): Buffer | Error {
    try {
      return decryptObject(Buffer.from(row.sealed), binding(Number(row.seq), row.id), this.keys);
    } catch (err) {
      return err as Error;
    }
  }

  private entryOf(row: EventColumns): HashedEntry {
    const bytes = decryptObject(Buffer.from(row.sealed), binding(Number(row.seq), row.id), this.keys);
    return { ...(JSON.parse(bytes.toString('utf8')) as AuditEntry), hash: sha256Hex(bytes) };
  }
}

/** What an entry's envelope is bound to, so sealed bytes moved to another row fail to open. */
export function binding(seq: number, id: string): string {
  return `db/audit/${seq}/${id}`;
}
