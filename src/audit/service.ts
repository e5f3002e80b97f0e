/** Reading the audit trail: role `audit` (and `admin` for one document), only the entries of the caller's units. */
import { AppError } from '../kernel/errors.ts';
import { cursorPosition, settledPage } from '../kernel/cursor.ts';
import { canSeeUnit, requireAnyRole, requireRole, type Principal } from '../auth/principal.ts';
import type { AuditStore } from '../metadata/audit-store.ts';
import type { HashedEntry } from './trail.ts';

export class AuditService {
  constructor(private readonly trail: Pick<AuditStore, 'documentTrail' | 'page' | 'positionOf'>) {}

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

  /**
   * Every unit's entries the caller may see, in chain order. `next` is the id of the page's last
   * entry (unchanged when nothing new was visible), so it reveals nothing of other units; the chain
   * is gap-free in commit order, so no poll skips an entry and nothing is held back.
   */
  async feed(principal: Principal, query: { after?: string; limit: number }): Promise<{ items: HashedEntry[]; next: string | null; hasMore: boolean }> {
    requireRole(principal, 'audit');
    const after = query.after ? await this.position(principal, query.after) : 0;
    const rows = await this.trail.page({ after, limit: query.limit + 1, units: principal.units });
    return settledPage(rows, query.limit, query.after, (row) => row);
  }

  /** A cursor names an entry of the caller's units; any other id is refused alike. */
  private position(principal: Principal, cursor: string): Promise<number> {
    return cursorPosition(cursor, (id) => this.trail.positionOf(id, principal.units), { de: 'dieses Protokolls', en: 'this log' });
  }
}
