/** The viewer's use cases: issue a view ticket, and serve pages rendered and watermarked for its reader. */
import { AppError } from '../kernel/errors.ts';
import { requireRole, type Principal } from '../auth/principal.ts';
import type { TicketGrant, ViewTickets } from './tickets.ts';
import type { ByteCache } from './byte-cache.ts';
import type { DocumentService } from '../documents/service.ts';
import type { DocumentRecord } from '../documents/records.ts';
import type { RawPage } from '../processing/rasterize.ts';
import { watermark, type WatermarkedImage } from '../processing/watermark.ts';
import type { ViewRecorder } from './recorder.ts';

/** What rendering needs from processing (the worker pool implements it). */
export interface PageRenderer {
  renderPage(pdf: Uint8Array, pageIndex: number, widthPx: number): Promise<RawPage>;
}

export interface ViewServiceDeps {
  documents: Pick<DocumentService, 'get' | 'forViewing'>;
  renderer: PageRenderer;
  tickets: ViewTickets;
  recorder: ViewRecorder;
  /** Holds decrypted renditions and unmarked renders (raw pixels), in memory only; the watermark is applied per request. */
  cache: ByteCache;
  now?: () => number;
}

export interface ViewInfo {
  documentId: string;
  title: string;
  caseNumber?: string;
  pageCount: number;
  classification: DocumentRecord['classification'];
  reader: { sub: string; name: string };
  expiresAt: string;
  /** By the service's clock, so the viewer plans its renewal without trusting the device's clock. */
  expiresInSeconds: number;
}

export class ViewService {
  private readonly now: () => number;

  constructor(private readonly deps: ViewServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** A ticket for this reader and this document; role `read` and the document's unit are required. */
  async issueTicket(principal: Principal, documentId: string): Promise<{ ticket: string; expiresAt: Date }> {
    requireRole(principal, 'read');
    const { unit } = await this.deps.documents.get(principal, documentId);
    const { ticket, grant } = await this.deps.tickets.issue({ sub: principal.sub, name: principal.name }, documentId);
    await this.deps.recorder.record({
      type: 'ticket_issued',
      ticketId: grant.ticketId,
      documentId,
      unit,
      readerSub: grant.reader.sub,
      readerName: grant.reader.name,
      at: new Date(this.now()).toISOString(),
      expiresAt: grant.expiresAt.toISOString(),
    });
    return { ticket, expiresAt: grant.expiresAt };
  }

  async info(ticket: string, documentId: string): Promise<ViewInfo> {
    const grant = await this.deps.tickets.verify(ticket, documentId);
    const { record } = await this.deps.documents.forViewing(documentId);
    return {
      documentId,
      title: record.title,
      ...(record.caseNumber !== undefined ? { caseNumber: record.caseNumber } : {}),
      pageCount: record.pageCount,
      classification: record.classification,
      reader: grant.reader,
      expiresAt: grant.expiresAt.toISOString(),
      expiresInSeconds: this.secondsUntil(grant.expiresAt),
    };
  }

  /** A fresh ticket while the reader keeps reading; the document must still exist. */
  async renewTicket(ticket: string, documentId: string): Promise<{ ticket: string; expiresAt: Date; expiresInSeconds: number }> {
    const renewed = await this.deps.tickets.renew(ticket, documentId);
    await this.deps.documents.forViewing(documentId);
    return { ticket: renewed.ticket, expiresAt: renewed.grant.expiresAt, expiresInSeconds: this.secondsUntil(renewed.grant.expiresAt) };
  }

  private secondsUntil(at: Date): number {
    return Math.max(0, Math.floor((at.getTime() - this.now()) / 1000));
  }

  /** Page `page` (1-based) `width` px wide, with the ticket's reader burned in as a watermark. */
  async page(ticket: string, documentId: string, page: number, width: number): Promise<WatermarkedImage> {
    const grant = await this.deps.tickets.verify(ticket, documentId);
    const { record, rendition } = await this.deps.documents.forViewing(documentId);
    if (!Number.isInteger(page) || page < 1 || page > record.pageCount) {
      throw new AppError('not_found', {
        detail: { de: `Seite ${page} gibt es nicht; das Dokument hat ${record.pageCount} Seite(n).`, en: `Page ${page} does not exist; the document has ${record.pageCount} page(s).` },
      });
    }
    const unmarked = await this.unmarkedPage(record, rendition, page, width);
    const at = new Date(this.now());
    const image = await watermark(unmarked, { readerName: grant.reader.name, readerId: grant.reader.sub, documentId, at });
    await this.recordPage(grant, record.unit, page, at);
    return image;
  }

  /**
   * The first page, small, watermarked for the caller, for lists: role `read` and the document's unit,
   * as for a view ticket. Not recorded per image (a list shows many); the watermark names the caller.
   */
  async thumbnail(principal: Principal, documentId: string, width: number): Promise<WatermarkedImage> {
    requireRole(principal, 'read');
    await this.deps.documents.get(principal, documentId);
    const { record, rendition } = await this.deps.documents.forViewing(documentId);
    const unmarked = await this.unmarkedPage(record, rendition, 1, width);
    return watermark(unmarked, { readerName: principal.name, readerId: principal.sub, documentId, at: new Date(this.now()) });
  }

  private async unmarkedPage(record: DocumentRecord, rendition: () => Promise<Buffer>, page: number, width: number): Promise<RawPage> {
    const { cache, renderer } = this.deps;
    // The rendition hash in the key: a changed rendition can never be served from an old render.
    const pdfKey = `pdf:${record.id}:${record.rendition.sha256}`;
    const pixels = await cache.getOrLoad(`page:${record.id}:${record.rendition.sha256}:${page}:${width}`, async () => {
      const pdf = await cache.getOrLoad(pdfKey, rendition);
      return (await renderer.renderPage(pdf, page - 1, width)).pixels;
    });
    // Pages render exactly `width` wide, so the cached RGBA pixels give their height.
    return { pixels, width, height: pixels.length / (4 * width) };
  }

  private recordPage(grant: TicketGrant, unit: string, page: number, at: Date): Promise<void> {
    return this.deps.recorder.record({
      type: 'page_viewed',
      ticketId: grant.ticketId,
      documentId: grant.documentId,
      unit,
      readerSub: grant.reader.sub,
      readerName: grant.reader.name,
      at: at.toISOString(),
      page,
    });
  }
}
