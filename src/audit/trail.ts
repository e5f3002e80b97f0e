/**
 * The tamper-evident audit trail (docs/audit.md). Every entry is stored twice, encrypted like
 * everything else: in the document's trail and in the global log. Each entry carries the hash of
 * its writer's previous entry (one linear chain per service instance, so concurrent instances
 * never race for one head) and the hash of the document's previous entry.
 */
import { createHash } from 'node:crypto';
import { monotonicFactory, ulid } from 'ulid';
import type { ObjectStore } from '../storage/object-store.ts';
import { cursorAtHorizon, layout, ulidFloor } from '../storage/layout.ts';
import { walk } from '../storage/walk.ts';

export const AUDIT_EVENT_TYPES = [
  'captured',
  'view_ticket_issued',
  'page_viewed',
  'content_exported',
  'manifest_exported',
  'xdomea_exported',
  'reviewed',
  'acknowledged',
  'deleted',
  'text_layer_added',
  'text_layer_failed',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** What a use case reports; ids, people and short facts only (never document content or metadata values). */
export interface AuditEvent {
  type: AuditEventType;
  documentId: string;
  /** The document's unit: who may read this entry, even after the document was deleted. */
  unit: string;
  actor: { sub: string; name?: string };
  details?: Record<string, string | number | boolean>;
}

export interface AuditEntry extends AuditEvent {
  v: 1;
  /** ULID: the global log's order. */
  id: string;
  at: string;
  /** The instance that wrote it; its entries form one chain. */
  writer: string;
  /** 1-based position in the writer's chain. */
  seq: number;
  /** SHA-256 (hex) of the writer's previous entry; null for its first. */
  prev: string | null;
  /** SHA-256 (hex) of the document's latest entry when this one was written; null for its first. */
  prevDoc: string | null;
}

/** An entry as read back, with the SHA-256 of its stored bytes. */
export type HashedEntry = AuditEntry & { hash: string };

/** What the use cases need: append an event; resolves once stored (audit fails closed). */
export interface AuditLog {
  append(event: AuditEvent): Promise<HashedEntry>;
}

/** The keys under a prefix after `startAfter`, in order. */
export async function keysUnder(store: ObjectStore, prefix: string, startAfter?: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of walk(store, prefix, startAfter)) keys.push(object.key);
  return keys;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function parseEntry(bytes: Buffer): HashedEntry {
  return { ...(JSON.parse(bytes.toString('utf8')) as AuditEntry), hash: sha256Hex(bytes) };
}

/** Document heads remembered per instance, so appends to a busy document list only what is new. */
const HEAD_CACHE_SIZE = 1000;

export class AuditTrail implements AuditLog {
  /** A fresh writer per process: two instances (or a restarted one) never continue the same chain. */
  readonly writer = ulid();
  private seq = 0;
  private last: string | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly heads = new Map<string, { key: string; hash: string }>();
  private readonly newId: () => string;
  private readonly now: () => number;

  constructor(private readonly deps: { store: ObjectStore; settleMs: number; now?: () => number }) {
    this.now = deps.now ?? Date.now;
    const factory = monotonicFactory();
    this.newId = () => factory(this.now());
  }

  /** Appends are serialized within the instance, so its chain stays linear. */
  append(event: AuditEvent): Promise<HashedEntry> {
    const result = this.tail.then(() => this.write(event));
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** The document's trail, oldest first; empty when it has none. */
  async documentTrail(documentId: string): Promise<HashedEntry[]> {
    const keys = await keysUnder(this.deps.store, layout.auditDocumentPrefix(documentId));
    return Promise.all(keys.map(async (k) => parseEntry(await this.deps.store.getBuffer(k))));
  }

  /**
   * The global log from a cursor, oldest first; the newest `settleMs` are held back like the document
   * feed's. Like the feed, it scans until the page is full or the horizon, and its cursor is a visible
   * entry or the horizon, so invisible entries change neither.
   */
  async feed(query: { after?: string; limit: number; visible: (entry: HashedEntry) => boolean }) {
    const { store, settleMs } = this.deps;
    const settledBefore = this.now() - settleMs;
    const horizon = layout.auditEntry(ulidFloor(settledBefore));
    const items: HashedEntry[] = [];
    for await (const object of walk(store, layout.auditLogPrefix, query.after ? layout.auditEntry(query.after) : undefined)) {
      if (object.key >= horizon) break;
      const entry = parseEntry(await store.getBuffer(object.key));
      if (!query.visible(entry)) continue;
      if (items.length === query.limit) return { items, next: items.at(-1)!.id, hasMore: true };
      items.push(entry);
    }
    return { items, next: cursorAtHorizon(settledBefore, query.after), hasMore: false };
  }

  private async write(event: AuditEvent): Promise<HashedEntry> {
    const { store } = this.deps;
    const head = await this.documentHead(event.documentId);
    const id = this.newId();
    const entry: AuditEntry = {
      v: 1,
      id,
      at: new Date(this.now()).toISOString(),
      writer: this.writer,
      seq: this.seq + 1,
      prev: this.last,
      prevDoc: head?.hash ?? null,
      ...event,
    };
    const bytes = Buffer.from(JSON.stringify(entry));
    const hash = sha256Hex(bytes);
    // Document copy first: a crash in between leaves an unconfirmed copy, never a logged entry without its copy.
    const docKey = layout.auditDocumentEntry(event.documentId, id);
    await store.put(docKey, bytes);
    // On failure the chain does not advance: a put that landed anyway shows up as a fork, never as a gap.
    await store.put(layout.auditEntry(id), bytes);
    this.seq = entry.seq;
    this.last = hash;
    this.remember(event.documentId, { key: docKey, hash });
    return { ...entry, hash };
  }

  /** The newest entry of the document's trail (written by any instance). */
  private async documentHead(documentId: string): Promise<{ key: string; hash: string } | undefined> {
    const known = this.heads.get(documentId);
    const newer = await keysUnder(this.deps.store, layout.auditDocumentPrefix(documentId), known?.key);
    const key = newer.at(-1);
    if (!key) return known;
    return { key, hash: sha256Hex(await this.deps.store.getBuffer(key)) };
  }

  private remember(documentId: string, head: { key: string; hash: string }): void {
    this.heads.delete(documentId);
    this.heads.set(documentId, head);
    if (this.heads.size > HEAD_CACHE_SIZE) this.heads.delete(this.heads.keys().next().value!);
  }
}
