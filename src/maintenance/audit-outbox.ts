/** Appends audit events whose request committed them but failed (or died) before appending them to the trail. */
import type { AuditEvent, AuditLog } from '../audit/trail.ts';
import type { MetadataStore } from '../metadata/metadata-store.ts';

/** How long one flusher holds the events it took; another takes them after that if it died. */
const FLUSH_LEASE_MS = 60_000;
const BATCH = 100;

export interface AuditOutboxDeps {
  metadata: Pick<MetadataStore, 'takePendingAudits' | 'completeAudit'>;
  audit: AuditLog;
  now?: () => number;
}

/** Returns how many events it appended. At least once: an append whose row removal failed is appended again next time. */
export async function appendPendingAudits(deps: AuditOutboxDeps): Promise<number> {
  const now = deps.now ?? Date.now;
  let appended = 0;
  for (;;) {
    const batch = await deps.metadata.takePendingAudits(now(), FLUSH_LEASE_MS, BATCH);
    for (const pending of batch) {
      await deps.audit.append(JSON.parse(pending.event.toString('utf8')) as AuditEvent);
      await deps.metadata.completeAudit(pending.id);
      appended++;
    }
    if (batch.length < BATCH) return appended;
  }
}
