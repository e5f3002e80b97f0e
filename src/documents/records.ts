/** The committed document record and what it carries: transfer note, text layer, acknowledgements. */
import type { MediaType } from '../../contract/index.ts';
import type { CaptureMetadata, Enhance } from './capture-metadata.ts';
import type { Finding } from '../processing/types.ts';

export interface TransferNote {
  capturedBy: { sub: string; name: string };
  capturedAt: string;
  receivedAt: string;
  source: CaptureMetadata['source'];
  device?: CaptureMetadata['device'];
  settings: { enhance: Enhance; sanitize: CaptureMetadata['sanitize'] };
  transport: { encryptedParts: number; plainParts: number; metadataEncrypted: boolean };
  findings: Finding[];
  review: { status: 'pending' | 'approved' | 'rejected'; by?: { sub: string; name: string }; at?: string; note?: string };
}

/** The committed record of a document; its presence in the store is what makes a document exist. */
export interface DocumentRecord {
  id: string;
  formatVersion: 1;
  unit: string;
  title: string;
  caseNumber?: string;
  classification: CaptureMetadata['classification'];
  issuingOffice: string;
  createdAt: string;
  pageCount: number;
  /** The current rendition: the first one until the text layer is in, then the one with it (`textLayer: true`). */
  rendition: { mediaType: 'application/pdf'; size: number; sha256: string; textLayer?: true };
  /** The OCR text layer added after the 201 (docs/audit.md); absent on documents from before it existed. */
  textLayer?: TextLayer;
  originals: Array<{ part: number; mediaType: MediaType; size: number; sha256: string; pages: number; encrypted: boolean }>;
  transferNote: TransferNote;
}

export interface TextLayer {
  status: 'pending' | 'ready' | 'failed';
  /** When it became ready or failed. */
  at?: string;
  /** Words added over all pages (ready). */
  words?: number;
  /** Why it failed, German / English (failed). */
  reason?: string;
}

/** An export client's statement that its archive took the document over. */
export interface Acknowledgement {
  documentId: string;
  by: { sub: string; name: string };
  at: string;
  /** The archive's own reference, e.g. the E-Akte object id. */
  reference?: string;
}
