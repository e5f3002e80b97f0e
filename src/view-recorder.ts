/** Every view is recorded for the audit trail; the trail itself implements this interface later. */

export type ViewEvent =
  | { type: 'ticket_issued'; ticketId: string; documentId: string; readerSub: string; at: string; expiresAt: string }
  | { type: 'page_viewed'; ticketId: string; documentId: string; readerSub: string; at: string; page: number };

export interface ViewRecorder {
  /** Resolves once the event is recorded; a failure refuses the view (audit fails closed). */
  record(event: ViewEvent): Promise<void>;
}

/** Until the audit trail exists: one log line per event, ids only (no names, no titles). */
export function logViewRecorder(logger: { info(obj: object, msg: string): void }): ViewRecorder {
  return {
    async record(event) {
      logger.info({ view: event }, 'view recorded');
    },
  };
}
