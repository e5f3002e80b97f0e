/** Reading the audit trail: role `audit` (and `admin` for one document), only the entries of the caller's units. */
import { AppError } from '../errors.ts';
import { canSeeUnit, requireAnyRole, requireRole, type Principal } from '../auth/principal.ts';
import type { AuditTrail, HashedEntry } from './trail.ts';

export class AuditService {
  constructor(private readonly trail: Pick<AuditTrail, 'documentTrail' | 'feed'>) {}

  /** The document's entries, oldest first; also after the document was deleted. */
  async documentTrail(principal: Principal, documentId: string): Promise<HashedEntry[]> {
    requireAnyRole(principal, ['audit', 'admin']);
    const entries = await this.trail.documentTrail(documentId);
    // Another unit's trail answers like a missing one, so ids cannot be probed.
    if (entries.length === 0 || !canSeeUnit(principal, entries[0]!.unit)) {
      throw new AppError('not_found', {
        detail: {
          de: `Kein Prüfprotokoll des Dokuments '${documentId}' ist für Sie sichtbar. Prüfen Sie die Kennung und Ihre Dienststelle.`,
          en: `No audit trail of document '${documentId}' is visible to you. Check the id and your unit.`,
        },
      });
    }
    return entries;
  }

  /** Every unit's entries the caller may see, oldest first, with a cursor like the document feed's. */
  feed(principal: Principal, query: { after?: string; limit: number }) {
    requireRole(principal, 'audit');
    return this.trail.feed({ ...query, visible: (entry) => canSeeUnit(principal, entry.unit) });
  }
}
