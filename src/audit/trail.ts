/**
 * The tamper-evident audit trail's entries (docs/audit.md). They live in the metadata database
 * (src/metadata/audit-store.ts): one hash chain over every entry in commit order, each entry naming
 * the hash of its predecessor and of its document's previous entry, the entry itself sealed.
 */

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
  v: 2;
  /** Position in the one chain: gap-free, in commit order. */
  seq: number;
  /** ULID: the entry's public id (and its 80 random bits keep the hash from being guessable). */
  id: string;
  at: string;
  /** SHA-256 (hex) of the entry at `seq - 1`; null for the first. */
  prev: string | null;
  /** SHA-256 (hex) of the document's previous entry; null for its first. */
  prevDoc: string | null;
}

/** An entry as read back, with the SHA-256 of its bytes. */
export type HashedEntry = AuditEntry & { hash: string };

/** What the use cases need: append an event; resolves once committed (audit fails closed). */
export interface AuditLog {
  append(event: AuditEvent): Promise<HashedEntry>;
}
