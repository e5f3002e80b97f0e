import { encodeTime } from 'ulid';
import { ULID_PATTERN } from '../kernel/ulid.ts';

/**
 * A document's blobs sit under two levels of its ULID's time prefix (12.4 days, then 17.5 minutes;
 * docs/storage-format.md, "Object keys"), so no directory grows with the archive and key order is id order.
 */
const documentDir = (id: string) => `documents/${id.slice(0, 4)}/${id.slice(4, 6)}/${id}/`;

/** Where things live in the object store (blobs only; metadata is in the database). Keys carry ids only, never document content. */
export const layout = {
  rendition: (id: string) => `${documentDir(id)}rendition`,
  /** The rendition with its OCR text layer, written by the job after the 201; the first one stays beside it. */
  textRendition: (id: string) => `${documentDir(id)}rendition-text`,
  original: (id: string, part: number) => `${documentDir(id)}original/${part}`,
  originalsPrefix: (id: string) => `${documentDir(id)}original/`,
  documentPrefix: documentDir,
  documentsPrefix: 'documents/',
  /** The id a key under documentsPrefix belongs to ('' for a key outside the layout). */
  documentIdOf: (key: string) => key.split('/')[3] ?? '',
  uploadInfo: (id: string) => `uploads/${id}/info`,
  // Zero-padded so the lexicographic listing is in offset order.
  uploadChunk: (id: string, offset: number) => `uploads/${id}/chunk/${String(offset).padStart(16, '0')}`,
  uploadChunkPrefix: (id: string) => `uploads/${id}/chunk/`,
  uploadPrefix: (id: string) => `uploads/${id}/`,
  uploadsPrefix: 'uploads/',
  sweepCursor: 'maintenance/orphan-sweep',
} as const;

/** The smallest ULID of millisecond `ms`: keys below it were created earlier. */
export function ulidFloor(ms: number): string {
  return encodeTime(Math.max(0, ms), 10) + '0'.repeat(16);
}

/** ULIDs: 26 Crockford base32 characters; anything else is not one of our ids. */
export const ID_PATTERN = ULID_PATTERN;
