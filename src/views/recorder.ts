/** Every view is recorded in the audit trail; a failed append refuses the view (audit fails closed). */
import type { AuditLog } from '../audit/trail.ts';

interface ViewEventBase {
  ticketId: string;
  documentId: string;
  /** The document's unit, so the entry stays readable by that unit's auditors. */
  unit: string;
  readerSub: string;
  readerName: string;
  at: string;
}

export type ViewEvent =
  | (ViewEventBase & { type: 'ticket_issued'; expiresAt: string })
  | (ViewEventBase & { type: 'page_viewed'; page: number });

export interface ViewRecorder {
  /** Resolves once the event is recorded; a failure refuses the view (audit fails closed). */
  record(event: ViewEvent): Promise<void>;
}

/** Views as audit entries: ids, the reader, the page; never the title or content. */
export function auditViewRecorder(audit: AuditLog): ViewRecorder {
  return {
    async record(event) {
      const details: Record<string, string | number> =
        event.type === 'ticket_issued' ? { ticketId: event.ticketId, expiresAt: event.expiresAt } : { ticketId: event.ticketId, page: event.page };
      await audit.append({
        type: event.type === 'ticket_issued' ? 'view_ticket_issued' : 'page_viewed',
        documentId: event.documentId,
        unit: event.unit,
        actor: { sub: event.readerSub, name: event.readerName },
        details,
      });
    },
  };
}
